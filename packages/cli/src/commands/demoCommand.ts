import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AccessStore } from '@lpacs/access';
import { EXAMPLE_QUERY, startServer } from '@lpacs/api';
import { RESEARCH_DEFAULT } from '@lpacs/deid';
import type { DeidOptions } from '@lpacs/deid';
import { ingest } from '@lpacs/ingest';
import type { IngestReport } from '@lpacs/ingest';
import { LakeLayout } from '@lpacs/lake';
import { issueTokenAudited } from '../accessAudit';
import { cliActor } from '../cliActor';
import { firstAdmin, firstAdminText } from '../firstAdmin';
import { IngestTally, auditIngest } from '../ingestAudit';
import { reportText } from '../format';
import type { Options } from '../options';

/** The bundled sample, put in place by `node datasets/fetch-sample.mjs`. */
function samplePath(): string {
  return resolve(
    __dirname,
    '..',
    '..',
    '..',
    '..',
    'datasets',
    'cache',
    'sample',
  );
}

/**
 * `lpacs demo`: ingests the sample, serves the API on 127.0.0.1, runs the
 * example query over HTTP and prints it with its answer; keeps serving
 * unless `--exit`.
 */
export async function demoCommand(
  opts: Options,
  exit: boolean,
): Promise<number> {
  const sample = samplePath();
  if (!existsSync(sample)) {
    process.stderr.write(
      `lpacs demo: no sample at ${sample}; run: node datasets/fetch-sample.mjs\n`,
    );
    return 1;
  }
  // The sample's deflated.dcm is a secondary capture that does not say
  // BurnedInAnnotation NO: a new demo lake accepts such objects (with a
  // notice), as `lpacs init --accept-unmarked secondary-capture` would.
  // A lake that exists keeps the options it was created with.
  const deid: DeidOptions | undefined = existsSync(
    new LakeLayout(opts.lake).settings,
  )
    ? undefined
    : { ...RESEARCH_DEFAULT, acceptUnmarked: ['secondary-capture'] };
  process.stdout.write(
    deid
      ? `== a new lake: research default options with --accept-unmarked secondary-capture (the sample's deflated.dcm is a secondary capture that does not say BurnedInAnnotation NO)\n`
      : `== ${opts.lake} exists: its own de-identification options apply\n`,
  );
  process.stdout.write(`== ingest ${sample} into ${opts.lake}\n`);
  // Audited as lpacs ingest is: one `ingest` entry when the run ends.
  const tally = new IngestTally();
  let report: IngestReport;
  try {
    report = await ingest([sample], {
      ...tally.hooks,
      lake: opts.lake,
      workers: opts.workers,
      deid,
    });
  } catch (error) {
    await auditIngest(opts.lake, 'cli', tally, { error });
    throw error;
  }
  if (!(await auditIngest(opts.lake, 'cli', tally, undefined))) return 1;
  process.stdout.write(reportText(report) + '\n');
  const server = await startServer({
    lake: opts.lake,
    host: opts.host,
    port: opts.port,
  });
  const password = await firstAdmin(opts.lake, 'system:demo');
  // The demo asks as the first admin, with a token that lives one day.
  const admin = new AccessStore(opts.lake)
    .users()
    .find((u) => u.role === 'admin' && !u.disabledAt);
  if (!admin) {
    process.stderr.write('lpacs demo: this lake has no active admin\n');
    await server.close();
    return 1;
  }
  const { token } = await issueTokenAudited(
    opts.lake,
    admin.name,
    { label: 'demo', expiresInDays: 1 },
    cliActor(),
  );
  const response = await fetch(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query: EXAMPLE_QUERY }),
  });
  const answer = (await response.json()) as unknown;
  process.stdout.write(
    `\n== the API is at ${server.url}\n== query:\n${EXAMPLE_QUERY}\n== answer:\n${JSON.stringify(answer, null, 2)}\n`,
  );
  if (password)
    process.stdout.write(
      `\n${firstAdminText(
        password,
        server.url.replace(/graphql$/, ''),
        opts.lake,
      )}`,
    );
  // Where the token comes from, and where the query page wants it.
  process.stdout.write(
    `\n== the demo's API token (issued to ${admin.name} for one day; more with: npx lpacs tokens create USER):\n${token}\n` +
      `== the query page at ${server.url.replace(/graphql$/, '')} asks for it: paste it into its API token field (kept in that tab only)\n`,
  );
  if (exit) {
    await server.close();
    return 0;
  }
  process.stdout.write(
    `\nTry it: curl -s ${server.url} -H 'content-type: application/json' -H 'authorization: Bearer ${token}' -d '{"query":"{ cohort { counts { studies instances } } }"}'\n` +
      `or open ${server.url.replace(/graphql$/, '')} in a browser and paste the token. Ctrl-C stops the server; the lake stays in ${join(opts.lake)}.\n`,
  );
  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', resolveStop);
    process.once('SIGTERM', resolveStop);
  });
  await server.close();
  return 0;
}
