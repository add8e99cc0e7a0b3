import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { SiteKeys } from '@lpacs/deid';
import type { LinkageRecord } from '@lpacs/deid';
import { LakeError, LakeLayout, readObjectSync, sealObject } from '@lpacs/lake';

/** What the linkage says about one pseudonym. */
export interface Reidentified {
  pseudonym: string;
  patientID?: string;
  issuerOfPatientID?: string;
  /** Only for patients that had no PatientID (the key was name and birth date). */
  patientName?: string;
  patientBirthDate?: string;
  accessions: Array<[string, string]>;
}

/**
 * Opens the lake's encrypted linkage with the site secret, one pseudonym
 * at a time. Records are decrypted on each lookup and never cached.
 */
export class LinkageReader {
  readonly #layout: LakeLayout;

  constructor(lakeRoot: string) {
    this.#layout = new LakeLayout(lakeRoot);
  }

  /** A file under keys/, decrypted when the lake is encrypted. */
  #read(path: string): string {
    const root = this.#layout.root;
    return readObjectSync(root, relative(root, path)).toString('utf8');
  }

  /** The site's keys and the batch files of the linkage, if any exist. */
  #open(): { keys: SiteKeys; files: string[] } | undefined {
    let hex: string;
    try {
      hex = this.#read(this.#layout.siteKey).trim();
    } catch (err) {
      // A missing or wrong KEK is reported, not taken for an empty linkage.
      if (err instanceof LakeError) throw err;
      return undefined; // no site secret yet: nothing was ingested
    }
    try {
      return {
        keys: new SiteKeys(Buffer.from(hex, 'hex')),
        files: readdirSync(this.#layout.linkage),
      };
    } catch {
      return undefined;
    }
  }

  /**
   * Removes every linkage record of `pseudonym` (an erasure), rewriting
   * each batch's file whole. Returns how many records were removed.
   */
  forget(pseudonym: string): number {
    return this.forgetErased({ patients: [pseudonym], accessions: [] }).records;
  }

  /**
   * Carries an erasure into the linkage: records of `patients` (left with
   * no instance) go whole; other records lose the accession numbers whose
   * pseudonym is in `accessions` (their studies are gone). Each batch's
   * file is rewritten whole and flushed. Returns how many records were
   * removed and how many accession links were taken out of the records
   * kept; both 0 when run again.
   */
  forgetErased(erased: {
    patients: readonly string[];
    accessions: readonly string[];
  }): { records: number; accessionLinks: number } {
    const done = { records: 0, accessionLinks: 0 };
    const opened = this.#open();
    if (!opened) return done;
    const { keys, files } = opened;
    const patients = new Set(erased.patients);
    const accessions = new Set(erased.accessions);
    for (const file of files) {
      if (!file.endsWith('.ndjson')) continue;
      const path = join(this.#layout.linkage, file);
      const lines = this.#read(path).split('\n').filter(Boolean);
      const kept: string[] = [];
      for (const line of lines) {
        const record = JSON.parse(keys.openLinkage(line)) as LinkageRecord;
        const links = record.accessions.filter(([, p]) => !accessions.has(p));
        if (patients.has(record.pseudonym)) done.records++;
        else if (links.length === record.accessions.length) kept.push(line);
        else {
          done.accessionLinks += record.accessions.length - links.length;
          kept.push(
            keys.sealLinkage(JSON.stringify({ ...record, accessions: links })),
          );
        }
      }
      if (kept.length === lines.length && kept.every((l, i) => l === lines[i]))
        continue;
      const text = Buffer.from(kept.length ? `${kept.join('\n')}\n` : '');
      const tmp = `${path}.tmp`;
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, sealObject(this.#layout.root, text));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    }
    return done;
  }

  /** The originals behind `pseudonym`, or undefined when none are recorded. */
  lookup(pseudonym: string): Reidentified | undefined {
    const opened = this.#open();
    if (!opened) return undefined; // nothing ingested yet
    const { keys, files } = opened;
    let found: Reidentified | undefined;
    const accessions = new Map<string, string>();
    for (const file of files.sort()) {
      const lines = this.#read(join(this.#layout.linkage, file));
      for (const line of lines.split('\n')) {
        if (!line) continue;
        const record = JSON.parse(keys.openLinkage(line)) as LinkageRecord;
        if (record.pseudonym !== pseudonym) continue;
        found ??= { pseudonym, accessions: [], ...fromKey(record.patientKey) };
        for (const [original, pseudo] of record.accessions)
          accessions.set(original, pseudo);
      }
    }
    if (found) found.accessions = [...accessions].sort();
    return found;
  }
}

function fromKey(key: string): Partial<Reidentified> {
  const [kind, rest = ''] = [
    key.slice(0, key.indexOf(':')),
    key.slice(key.indexOf(':') + 1),
  ];
  const bar = rest.lastIndexOf('|');
  if (kind === 'id') {
    const issuer = rest.slice(0, rest.indexOf('|'));
    return {
      patientID: rest.slice(rest.indexOf('|') + 1),
      ...(issuer ? { issuerOfPatientID: issuer } : {}),
    };
  }
  return {
    patientName: rest.slice(0, bar),
    patientBirthDate: rest.slice(bar + 1),
  };
}
