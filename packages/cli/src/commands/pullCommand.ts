import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { typedTarget } from '@lpacs/access';
import { IngestSession, pullDicomWeb } from '@lpacs/ingest';
import type { PullQuery } from '@lpacs/ingest';
import { counted, progressLine, reportText } from '../format';
import { IngestTally, auditIngest } from '../ingestAudit';
import { createLogger } from '../logger';
import type { Options } from '../options';

/** Query flags of `lpacs pull`. */
export interface PullFlags {
  patient?: string | undefined;
  study?: string | undefined;
  date?: string | undefined;
  modality?: string | undefined;
  token?: string | undefined;
  user?: string | undefined;
}

/** The folder `lake` as this run found it: absent, empty, or in use. */
function folderState(lake: string): 'absent' | 'empty' | 'used' {
  if (!existsSync(lake)) return 'absent';
  return readdirSync(lake).length ? 'used' : 'empty';
}

/**
 * Undoes the lake a failed pull made in a folder that was absent or
 * empty before it, when no batch was committed there (by this run or a
 * writer beside it): a refused login must not leave a lake, with a site
 * secret, that the next ingest would take as the site's.
 */
async function removeUnusedLake(
  lake: string,
  before: 'absent' | 'empty',
): Promise<void> {
  const tables = join(lake, 'tables');
  const batches = existsSync(tables)
    ? readdirSync(tables).flatMap((t) =>
        readdirSync(join(tables, t)).filter((b) => b.startsWith('batch=')),
      )
    : [];
  if (batches.length) return;
  if (before === 'absent') await rm(lake, { recursive: true, force: true });
  else
    for (const name of readdirSync(lake))
      await rm(join(lake, name), { recursive: true, force: true });
}

/**
 * `lpacs pull URL [--patient ID] [--study UID] [--date FROM-TO]
 * [--modality M]`: finds studies on another PACS with QIDO-RS, retrieves
 * them series by series with WADO-RS, and ingests them like files.
 * Rerunning skips what is already in the lake.
 */
export async function pullCommand(
  args: string[],
  opts: Options,
  flags: PullFlags,
): Promise<number> {
  const [url] = args;
  if (!url || !/^https?:\/\//.test(url)) {
    process.stderr.write(
      'usage: lpacs pull http://HOST:PORT/dicom-web [--patient ID] [--study UID] [--date YYYYMMDD-YYYYMMDD] [--modality M] [--token T | --user NAME:PASSWORD]\n',
    );
    return 2;
  }
  if (flags.date && !/^(\d{8})?-?(\d{8})?$/.test(flags.date)) {
    process.stderr.write(
      `lpacs pull: --date must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD, got "${flags.date}"\n`,
    );
    return 2;
  }
  const headers: Record<string, string> = {};
  if (flags.token) headers.authorization = `Bearer ${flags.token}`;
  else if (flags.user)
    headers.authorization = `Basic ${Buffer.from(flags.user).toString('base64')}`;
  const query: PullQuery = {
    ...(flags.patient ? { patientID: flags.patient } : {}),
    ...(flags.study ? { studyInstanceUID: flags.study } : {}),
    ...(flags.date ? { studyDate: flags.date } : {}),
    ...(flags.modality ? { modality: flags.modality.toUpperCase() } : {}),
    headers,
  };
  const tty = process.stderr.isTTY && !opts.json;
  const before = folderState(opts.lake);
  const session = await IngestSession.open({
    lake: opts.lake,
    workers: opts.workers,
    batchSize: opts.batchSize,
    logger: createLogger('ingest', process.env.LPACS_LOG_LEVEL ?? 'error'),
  });
  let found = { studies: 0, studiesDone: 0, series: 0 };
  let failed: { error: unknown } | undefined;
  // One `ingest` audit entry, written when the run ends, failed or not.
  const tally = new IngestTally();
  tally.opened = true;
  let audited = true;
  try {
    let last = 0;
    const report = await session.run(
      pullDicomWeb(url, query, (p) => {
        found = { ...p };
      }),
      {
        ...tally.hooks,
        onProgress: (p) => {
          const now = Date.now();
          if (!tty || now - last < 100) return;
          last = now;
          process.stderr.write(
            `\rstudy ${found.studiesDone + 1}/${found.studies}  ${progressLine(p)}\x1b[K`,
          );
        },
      },
    );
    if (tty) process.stderr.write('\r\x1b[K');
    const out = { ...report, pulled: { from: url, ...found } };
    process.stdout.write(
      opts.json
        ? `${JSON.stringify(out, null, 2)}\n`
        : `pulled ${counted(found.series, 'series', 'series')} of ${counted(found.studies, 'study', 'studies')} from ${url}\n${reportText(report)}\n`,
    );
  } catch (error) {
    failed = { error };
    throw error;
  } finally {
    await session.close();
    if (failed && before !== 'used') await removeUnusedLake(opts.lake, before);
    // Once the lake is released; nothing is written where a failed pull
    // took its new lake away again.
    audited = await auditIngest(
      opts.lake,
      'pull',
      tally,
      failed,
      pullDetail(opts.lake, url, flags),
    );
  }
  return audited ? 0 : 1;
}

/**
 * What a pull's audit entry says of its query: the server's origin, the
 * date range and modality as given, and a patient ID or study UID (the
 * other PACS's: the site's identifiers) only as typedTarget's keyed
 * digest.
 */
function pullDetail(
  lake: string,
  url: string,
  flags: PullFlags,
): Record<string, string> {
  return {
    from: new URL(url).origin,
    ...(flags.patient ? { patient: typedTarget(lake, flags.patient) } : {}),
    ...(flags.study ? { study: typedTarget(lake, flags.study) } : {}),
    ...(flags.date ? { date: flags.date } : {}),
    ...(flags.modality ? { modality: flags.modality.toUpperCase() } : {}),
  };
}
