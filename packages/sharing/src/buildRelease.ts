import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chmod,
  mkdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import type { Catalog } from '@lpacs/lake';
import {
  SCHEMAS,
  TABLE_NAMES,
  objectSize,
  readObject,
  sealObject,
  sqlString,
} from '@lpacs/lake';
import { releaseDeidentification } from './releaseDeidentification';
import type {
  FrozenInstance,
  ReleaseFile,
  ReleaseManifest,
  SavedCohort,
  ShareRequest,
} from './types';

/** Where releases live: `<lake>/releases/<id>/`. */
export function releaseDir(lakeRoot: string, id: string): string {
  return join(lakeRoot, 'releases', id);
}

/** The path of an instance inside a release download. */
export function instancePath(i: FrozenInstance): string {
  return `dicom/${i.StudyInstanceUID}/${i.SeriesInstanceUID}/${i.SOPInstanceUID}.dcm`;
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
  const id = `rel_${randomBytes(8).toString('hex')}`;
  const final = releaseDir(o.lakeRoot, id);
  const work = join(o.lakeRoot, 'releases', `.${id}.tmp`);
  await mkdir(join(work, 'metadata'), { recursive: true });
  try {
    const files: ReleaseFile[] = [];
    for (const i of o.instances) {
      const size = await objectSize(o.lakeRoot, i.object_key);
      if (size !== i.size_bytes)
        throw new Error(
          `object ${i.sha256.slice(0, 12)} has ${size} bytes, the index says ${i.size_bytes}`,
        );
      files.push({
        path: instancePath(i),
        sha256: i.sha256,
        size: i.size_bytes,
        source: { objectKey: i.object_key },
      });
    }
    const list = join(work, 'instances.ndjson');
    await writeFile(
      list,
      o.instances
        .map((i) =>
          JSON.stringify({ sop: i.SOPInstanceUID, file: instancePath(i) }),
        )
        .join('\n'),
    );
    const chosen = `(SELECT sop, file FROM read_json(${sqlString(list)}, columns = {sop: 'VARCHAR', file: 'VARCHAR'}))`;
    const parquet = (name: string) =>
      `TO ${sqlString(join(work, 'metadata', `${name}.parquet`))} (FORMAT parquet, COMPRESSION zstd)`;
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
    await rm(list);
    await writeFile(join(work, 'DATA_DICTIONARY.md'), dataDictionary());
    const own = [
      'DATA_DICTIONARY.md',
      ...['patients', 'studies', 'series', 'instances'].map(
        (t) => `metadata/${t}.parquet`,
      ),
    ];
    for (const path of own) {
      const full = join(work, path);
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
      join(work, 'manifest.json'),
      `${JSON.stringify(manifest, null, 1)}\n`,
    );
    // In an encrypted lake the release's own files are sealed like its
    // objects; the manifest's hashes and sizes are of what is downloaded.
    for (const path of [...own, 'manifest.json']) {
      const full = join(work, path);
      const plain = await readFile(full);
      const stored = sealObject(o.lakeRoot, plain);
      if (stored !== plain) await writeFile(full, stored);
      await chmod(full, 0o444);
    }
    await rename(work, final);
    return manifest;
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}
