import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CT, dcmdump, filesUnder, runCli, tempDir } from './helpers';

// `lpacs sql`: the lake's tables from the command line, no duckdb CLI.
const work = tempDir('sql');
const lake = join(work.path, 'lake');
const files = filesUnder(CT).filter((f) => f.endsWith('.dcm'));

before(async () => {
  const r = await runCli(['ingest', CT, '--lake', lake]);
  assert.equal(r.code, 0, r.stderr);
});
after(() => work.remove());

describe('lpacs sql', () => {
  it('answers SQL over the instances table as dcmdump counts the corpus', async () => {
    // Files per study and series count, read from the originals by dcmdump.
    const perStudy = new Map<string, Set<string>>();
    for (const f of files) {
      const v = dcmdump(f, ['0020,000d', '0020,000e'])!;
      const s = perStudy.get(v['0020,000d']!) ?? new Set();
      s.add(v['0020,000e']!);
      perStudy.set(v['0020,000d']!, s);
    }
    const r = await runCli([
      'sql',
      'SELECT "StudyInstanceUID" AS study, count(DISTINCT "SeriesInstanceUID") AS series, count(*) AS n FROM instances GROUP BY 1',
      '--lake',
      lake,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Array<{ series: number; n: number }>;
    assert.equal(rows.length, perStudy.size);
    assert.equal(
      rows.reduce((a, b) => a + b.n, 0),
      files.length,
    );
    assert.deepEqual(
      rows.map((x) => x.series).sort(),
      [...perStudy.values()].map((s) => s.size).sort(),
    );
  });

  it('prints aligned columns with a row count', async () => {
    const r = await runCli([
      'sql',
      "SELECT 'CT' AS modality, 12 AS n UNION ALL SELECT 'MR', 3 ORDER BY 1",
      '--lake',
      lake,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        'modality   n',
        '--------  --',
        'CT        12',
        'MR         3',
        '(2 rows)',
        '',
      ].join('\n'),
    );
  });

  it('names the problem of a bad query, and of a missing lake', async () => {
    const bad = await runCli([
      'sql',
      'SELECT no_such_column FROM instances',
      '--lake',
      lake,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^lpacs: SQL_ERROR: .*no_such_column/);
    const none = await runCli([
      'sql',
      'SELECT 1',
      '--lake',
      join(work.path, 'typo'),
    ]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /NOT_A_LAKE/);
    const missing = await runCli(['sql', '--lake', lake]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /give one SQL query/);
  });
});
