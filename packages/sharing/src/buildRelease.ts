import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessError, AccessErrorCode } from '@lpacs/access';
import type { Catalog } from '@lpacs/lake';
import {
  SCHEMAS,
  TABLE_NAMES,
  openLakeCipher,
  readObject,
  sealObject,
  sqlString,
} from '@lpacs/lake';
import { releaseDeidentification } from './releaseDeidentification';
import { instancePath, releaseObjects } from './releaseObjects';
import type {
  FrozenInstance,
  ReleaseManifest,
  SavedCohort,
  ShareRequest,
} from './types';

/** Where releases live: `<lake>/releases/<id>/`. */
export function releaseDir(lakeRoot: string, id: string): string {
  return join(lakeRoot, 'releases', id);
}

/** The manifest of a built release. @throws when it does not exist. */
export async function readReleaseManifest(
  lakeRoot: string,
  id: string,
): Promise<ReleaseManifest> {
  return JSON.parse(
    (
      await readObject(lakeRoot, join('releases', id, 'manifest.json'))
    ).toString('utf8'),
  ) as ReleaseManifest;
}

/** The SOP Instance UIDs a release holds (the inverse of instancePath). */
export function releaseInstanceUIDs(manifest: ReleaseManifest): string[] {
  return manifest.files
    .map((f) => /^dicom\/[^/]+\/[^/]+\/([0-9.]+)\.dcm$/.exec(f.path)?.[1])
    .filter((s): s is string => s !== undefined);
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function dataDictionary(): string {
  const lines = [
    '# Data dictionary',
    '',
    'Metadata of this release as Parquet, one file per level. Column names',
    'are DICOM keywords (PS3.6) unless described otherwise. Every value is',
    'de-identified (DICOM PS3.15 Annex E; options in manifest.json).',
    '',
  ];
  for (const table of TABLE_NAMES) {
    lines.push(
      `## metadata/${table}.parquet`,
      '',
      '| column | type | meaning |',
      '|---|---|---|',
    );
    for (const c of SCHEMAS[table].columns)
      if (c.name !== 'object_key')
        lines.push(
          `| ${c.name} | ${c.type} | ${c.description.replace(/\|/g, '/')} |`,
        );
    if (table === 'instances')
      lines.push('| file | VARCHAR | Path of the DICOM file in this release |');
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * Makes the immutable release of an approved share: the frozen cohort's
 * metadata as Parquet, a data dictionary and a manifest with the SHA-256
 * and size of every file. DICOM objects are not copied: a release names
 * them by their content-addressed key, which never changes. Built in a
 * hidden folder and renamed into place, so a release is whole or absent.
 */
export async function buildRelease(o: {
  lakeRoot: string;
  catalog: Catalog;
  share: ShareRequest;
  cohort: SavedCohort;
  instances: FrozenInstance[];
  /** The lake's de-identification options (lake.json). */
  deidentification: unknown;
}): Promise<ReleaseManifest> {
  if (!o.instances.length)
    throw new AccessError(
      AccessErrorCode.BadInput,
      o.cohort.erased
        ? `cohort ${o.cohort.id} has no instances left after an erasure (${o.cohort.erased.instances} erased), so there is nothing to release`
        : `cohort ${o.cohort.id} holds no instances, so there is nothing to release`,
    );
  const files = await releaseObjects(o.lakeRoot, o.cohort, o.instances);
  const id = `rel_${randomBytes(8).toString('hex')}`;
  const final = releaseDir(o.lakeRoot, id);
  const work = join(o.lakeRoot, 'releases', `.${id}.tmp`);
  await mkdir(join(work, 'metadata'), { recursive: true });
  // An encrypted lake's release files are made in memory-backed scratch
  // space and only sealed copies enter the lake: no plaintext on its disk.
  const sealed = openLakeCipher(o.lakeRoot) !== undefined;
  const plainDir = sealed
    ? await mkdtemp(
        join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'lpacs-release-'),
      )
    : work;
  await mkdir(join(plainDir, 'metadata'), { recursive: true });
  const chosen = `release_${id}`;
  try {
    // The release's instances as a table in the catalog's memory, filled
    // 500 rows per statement, dropped when done.
    await o.catalog.query(`CREATE TABLE ${chosen} (sop VARCHAR, file VARCHAR)`);
    for (let at = 0; at < o.instances.length; at += 500) {
      const part = o.instances.slice(at, at + 500);
      await o.catalog.query(
        `INSERT INTO ${chosen} VALUES ${part.map(() => '(?, ?)').join(', ')}`,
        part.flatMap((i) => [i.SOPInstanceUID, instancePath(i)]),
      );
    }
    const parquet = (name: string) =>
      `TO ${sqlString(join(plainDir, 'metadata', `${name}.parquet`))} (FORMAT parquet, COMPRESSION zstd)`;
    await o.catalog.query(
      `COPY (SELECT i.* EXCLUDE (object_key, batch), c.file FROM instances i JOIN ${chosen} c ON i."SOPInstanceUID" = c.sop ORDER BY c.file) ${parquet('instances')}`,
    );
    const inSet = (key: string) =>
      `"${key}" IN (SELECT DISTINCT i."${key}" FROM instances i JOIN ${chosen} c ON i."SOPInstanceUID" = c.sop)`;
    for (const table of ['series', 'studies', 'patients'] as const) {
      const key = SCHEMAS[table].key[0]!;
      await o.catalog.query(
        `COPY (SELECT * EXCLUDE (batch) FROM ${table} WHERE ${inSet(key)} ORDER BY 1) ${parquet(table)}`,
      );
    }
    const deidentification = await releaseDeidentification(
      o.catalog,
      chosen,
      o.deidentification,
    );
    await writeFile(join(plainDir, 'DATA_DICTIONARY.md'), dataDictionary());
    const own = [
      'DATA_DICTIONARY.md',
      ...['patients', 'studies', 'series', 'instances'].map(
        (t) => `metadata/${t}.parquet`,
      ),
    ];
    for (const path of own) {
      const full = join(plainDir, path);
      files.push({
        path,
        sha256: await sha256OfFile(full),
        size: (await stat(full)).size,
        source: { releaseFile: path },
      });
    }
    const manifest: ReleaseManifest = {
      id,
      shareId: o.share.id,
      cohortId: o.cohort.id,
      cohortName: o.cohort.name,
      collaborator: o.share.collaborator,
      createdAt: new Date().toISOString(),
      expiresAt: o.share.expiresAt,
      deidentification,
      counts: o.cohort.counts,
      files,
      totalBytes: files.reduce((n, f) => n + f.size, 0),
    };
    await writeFile(
      join(plainDir, 'manifest.json'),
      `${JSON.stringify(manifest, null, 1)}\n`,
    );
    // In an encrypted lake the release's own files are sealed like its
    // objects; the manifest's hashes and sizes are of what is downloaded.
    for (const path of [...own, 'manifest.json']) {
      const full = join(work, path);
      if (sealed)
        await writeFile(
          full,
          sealObject(o.lakeRoot, await readFile(join(plainDir, path))),
        );
      await chmod(full, 0o444);
    }
    await rename(work, final);
    return manifest;
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  } finally {
    await o.catalog.query(`DROP TABLE IF EXISTS ${chosen}`).catch(() => {});
    if (sealed) await rm(plainDir, { recursive: true, force: true });
  }
}
