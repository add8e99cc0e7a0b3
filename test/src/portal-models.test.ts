import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import {
  CT,
  REPO,
  addModel,
  dcmdump,
  filesUnder,
  makeModels,
  parquetRows,
  runCli,
  tempDir,
} from './helpers';
import { navLink, screenshots, startPortalStack } from './portalHarness';
import type { PortalStack } from './portalHarness';

// A researcher runs a model over the lake from the portal and watches it
// finish; the count it reports is checked against dcmdump's CT count.
const work = tempDir('portal-models');
const lake = join(work.path, 'lake');
const PASSWORD = 'portal models passphrase';
let stack: PortalStack;

before(async () => {
  const ingested = await runCli(['ingest', CT, '--lake', lake]);
  assert.equal(ingested.code, 0, ingested.stderr);
  const models = join(work.path, 'models');
  await makeModels(models);
  await addModel(lake, models, 'ct-brightness');
  stack = await startPortalStack({
    lake,
    password: PASSWORD,
    users: { rita: Role.Researcher },
    tokens: ['rita'],
  });
  await stack.gql(
    'rita',
    'mutation { saveCohort(name: "all CT", filter: { modality: ["CT"] }) { id } }',
  );
});
after(async () => {
  await stack?.close();
  work.remove();
});

describe('portal models page in Chromium', () => {
  it('runs a model over the lake and shows it done with every CT instance predicted', async () => {
    const ct = filesUnder(CT).filter(
      (f) =>
        f.endsWith('.dcm') && dcmdump(f, ['0008,0060'])?.['0008,0060'] === 'CT',
    ).length;
    const { page } = await stack.signIn('rita');
    await navLink(page, 'Models').click();
    await page
      .getByRole('table', { name: 'Models' })
      .getByText('ct-brightness')
      .waitFor();
    await page
      .getByLabel('Model', { exact: true })
      .selectOption('ct-brightness');
    await page.getByRole('button', { name: 'Run model' }).click();
    const row = page.locator('tr[data-phase="done"]');
    await row.waitFor({ timeout: 60_000 });
    assert.equal(
      (await row.locator('td[data-predicted]').textContent())?.trim(),
      String(ct),
    );
    await page.screenshot({ path: join(screenshots(), 'models-run-done.png') });

    // The viewer shows the score of the instance on screen, as numpy has it.
    const rows = await parquetRows(
      `SELECT "StudyInstanceUID" AS st, "SeriesInstanceUID" AS se, "SOPInstanceUID" AS sop, object_key AS k, "InstanceNumber" AS n FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY st, se, n`,
    );
    const study = String(rows[0]!.st);
    await page.goto(`${stack.portal}studies/${study}`);
    const fig = page.getByTestId('frame-position');
    await fig.waitFor();
    const src = (await page
      .getByRole('img', { name: /^Instance/ })
      .getAttribute('data-src'))!;
    const sop = /instances\/([0-9.]+)\//.exec(src)![1]!;
    const key = String(rows.find((r) => r.sop === sop)!.k);
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [
      join(REPO, 'packages', 'ml', 'scripts', 'reference.py'),
      join(lake, key),
    ]);
    const [ref] = JSON.parse(stdout) as Array<{ scores: number[] }>;
    const cell = page.locator(
      'table[aria-label="Predictions"] tr[data-label="bright"] td[data-score]',
    );
    await cell.waitFor();
    assert.equal(
      (await cell.textContent())?.trim(),
      ref!.scores[0]!.toFixed(4),
    );
    await page.screenshot({
      path: join(screenshots(), 'viewer-predictions.png'),
    });
  });
});
