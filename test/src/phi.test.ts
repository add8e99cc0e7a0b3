import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import { Role } from '@lpacs/access';
import { REPO, bearer, filesUnder, runCli, tempDir, tokenFor } from './helpers';

const PLANT = join(REPO, 'datasets', 'cache', 'plant-phi');
const { markers } = JSON.parse(
  readFileSync(join(PLANT, 'markers.json'), 'utf8'),
) as {
  markers: Array<{
    needle: string;
    mustVanish: boolean;
    encoding?: 'utf8' | 'latin1';
    where: string;
  }>;
};
const needles = markers
  .filter((m) => m.mustVanish)
  .map((m) => ({
    what: `${m.where}: ${m.needle}`,
    bytes: Buffer.from(m.needle, m.encoding ?? 'latin1')
      .toString('latin1')
      .toUpperCase(),
  }));

const work = tempDir('phi');
const lake = join(work.path, 'lake');
let server: RunningServer;
let cliOutput = '';
let reportJson = '';

before(async () => {
  const run = await runCli(['ingest', PLANT, '--lake', lake, '--json'], {
    LPACS_LOG_LEVEL: 'debug',
  });
  assert.equal(run.code, 0, run.stderr);
  cliOutput = run.stdout + run.stderr;
  reportJson = run.stdout;
  server = await startServer({ lake, port: 0 });
});
after(async () => {
  await server?.close();
  work.remove();
});

function leaks(text: string): string[] {
  const upper = text.toUpperCase();
  return needles.filter((n) => upper.includes(n.bytes)).map((n) => n.what);
}

describe('planted PHI through the whole pipeline', () => {
  it('ingests all five planted files', () => {
    const report = JSON.parse(reportJson) as { ingested: number };
    assert.equal(report.ingested, 5);
  });

  it('leaves no marker in any object or Parquet file', () => {
    const files = filesUnder(lake).filter(
      (f) => !f.includes('/quarantine/') && !f.includes('/keys/'),
    );
    for (const f of files)
      assert.deepEqual(leaks(readFileSync(f).toString('latin1')), [], f);
  });

  it('leaves no marker in the CLI report or its debug log', () => {
    assert.deepEqual(leaks(cliOutput), []);
  });

  it('sends no marker in API responses', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: bearer(await tokenFor(lake, Role.Researcher)),
      body: JSON.stringify({
        query: `{ cohort { counts { patients studies } studies(first: 50) { nodes { studyInstanceUID patientID studyDate studyDescription modalities bodyParts patientSex ageYears } } facets { modality { value count } bodyPart { value count } manufacturer { value count } sex { value count } studyYear { value count } } } }`,
      }),
    });
    const text = await res.text();
    assert.ok(text.includes('"patients"'));
    assert.deepEqual(leaks(text), []);
  });
});
