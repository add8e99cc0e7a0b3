/**
 * A small in-memory LRU of rendered images (thumbnails, mask overlays),
 * keyed by what they were made from. Stored objects never change (they are
 * named by their SHA-256), so an entry never goes stale; it only ages out.
 */
export class RenderedCache {
  readonly #entries = new Map<string, Buffer>();
  #bytes = 0;

  /**
   * @param maxBytes - the most image bytes kept (default 32 MiB; a 128
   * pixel JPEG thumbnail is 2-5 kB).
   */
  constructor(private readonly maxBytes = 32 << 20) {}

  /** The image made under `key`, now the most recently used; or undefined. */
  get(key: string): Buffer | undefined {
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
    }
    return hit;
  }

  /** Keeps an image, dropping the least recently used past the limit. */
  set(key: string, image: Buffer): void {
    if (image.length > this.maxBytes) return;
    const old = this.#entries.get(key);
    if (old) {
      this.#bytes -= old.length;
      this.#entries.delete(key);
    }
    this.#entries.set(key, image);
    this.#bytes += image.length;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= v.length;
    }
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }
}
