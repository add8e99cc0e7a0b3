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
  it('runs a model over the lake, shows it done with every CT instance predicted, its score in the viewer, and selects a cohort by it', async () => {
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

    // The cohort builder's model criterion: the instances whose bright
    // score numpy puts at or above a threshold of two decimals (the
    // field's step) that splits the CT cohort, with no score near it.
    const objects = rows
      .map((r) => join(lake, String(r.k)))
      .filter((f) => dcmdump(f, ['0008,0060'])?.['0008,0060'] === 'CT');
    const all = JSON.parse(
      (
        await promisify(execFile)(
          '/usr/bin/python3',
          [join(REPO, 'packages', 'ml', 'scripts', 'reference.py'), ...objects],
          { maxBuffer: 1 << 28 },
        )
      ).stdout,
    ) as Array<{ scores: number[] }>;
    const bright = all.map((r) => r.scores[0]!);
    let threshold = 0;
    let expected = 0;
    for (let c = 1; c < 100; c++) {
      const t = c / 100;
      const n = bright.filter((b) => b >= t).length;
      if (bright.some((b) => Math.abs(b - t) < 1e-4)) continue;
      if (
        n > 0 &&
        n < bright.length &&
        Math.abs(2 * n - bright.length) < Math.abs(2 * expected - bright.length)
      ) {
        threshold = t;
        expected = n;
      }
    }
    assert.ok(expected > 0 && expected < bright.length, 'a split');
    await page.goto(stack.portal);
    await page.getByLabel('Model', { exact: true }).fill('ct-brightness');
    await page.getByLabel('Label', { exact: true }).fill('bright');
    await page.getByLabel('Minimum score').fill(String(threshold));
    const instances = page.locator(
      'dl[aria-label="Cohort counts"] dd[data-level="instances"]',
    );
    const want = expected.toLocaleString('en');
    const end = Date.now() + 15_000;
    let seen = await instances.textContent();
    while (seen !== want && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await instances.textContent();
    }
    assert.equal(seen, want, `score >= ${threshold}`);
    await page.screenshot({
      path: join(screenshots(), 'cohort-by-prediction.png'),
    });
  });
});
