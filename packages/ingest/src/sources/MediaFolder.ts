import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The folder a DICOMDIR sits in, where its file IDs are looked up. Names
 * match case-insensitively: PS3.10 8.2 allows only upper-case IDs, but
 * media copied by other systems often arrive in lower case.
 */
export class MediaFolder {
  readonly root: string;
  readonly #listings = new Map<string, Promise<Dirent[]>>();

  constructor(root: string) {
    this.root = root;
  }

  #list(dir: string): Promise<Dirent[]> {
    let listing = this.#listings.get(dir);
    if (!listing) {
      listing = readdir(dir, { withFileTypes: true }).catch(() => []);
      this.#listings.set(dir, listing);
    }
    return listing;
  }

  async #entry(dir: string, name: string): Promise<Dirent | undefined> {
    const entries = await this.#list(dir);
    const upper = name.toUpperCase();
    return (
      entries.find((e) => e.name === name) ??
      entries.find((e) => e.name.toUpperCase() === upper)
    );
  }

  /**
   * The path on disk of a file ID, or undefined when no regular file (or
   * link to one) answers to it. Only listed names are joined, so an ID
   * cannot climb out of the folder with `..`.
   */
  async resolve(fileId: readonly string[]): Promise<string | undefined> {
    let path = this.root;
    for (const [i, component] of fileId.entries()) {
      const entry = await this.#entry(path, component);
      if (!entry) return undefined;
      path = join(path, entry.name);
      const last = i === fileId.length - 1;
      if (!last && !entry.isDirectory()) return undefined;
      if (last && !entry.isFile()) {
        if (!entry.isSymbolicLink()) return undefined;
        const target = await stat(path).catch(() => undefined);
        if (!target?.isFile()) return undefined;
      }
    }
    return path;
  }

  /** The DICOMDIR at the root, whatever its case, if there is one. */
  async dicomdir(): Promise<string | undefined> {
    const entry = await this.#entry(this.root, 'DICOMDIR');
    return entry?.isFile() ? join(this.root, entry.name) : undefined;
  }
}
