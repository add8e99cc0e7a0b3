import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Catalog, LakeLayout } from '@lpacs/lake';
import { dcmdump, filesUnder, parquetRows, runCli, tempDir } from './helpers';

// pydicom's MR_small (Debian python3-pydicom): one instance, copied for
// two patients that share its study and series (as after a PatientID
// correction sent the same study again under the right patient).
const MR =
  '/usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small.dcm';
const work = tempDir('erase-shared');
after(() => work.remove());

const input = join(work.path, 'in');
mkdirSync(input);
const erased = join(input, 'a.dcm');
const keptFile = join(input, 'b.dcm');
copyFileSync(MR, erased);
copyFileSync(MR, keptFile);
execFileSync('dcmodify', [
  '-nb',
  '-gin',
  '-i',
  '(0010,0020)=ERASEME1',
  '-i',
  '(0008,1030)=study from P1',
  erased,
]);
execFileSync('dcmodify', ['-nb', '-gin', '-i', '(0010,0020)=KEEP2', keptFile]);

/** What dcmdump reads from the lake's objects, by their StudyDescription. */
function objects(lake: string) {
  const tags = ['0010,0020', '0010,0040', '0008,0020', '0008,1030'];
  const read = filesUnder(join(lake, 'objects')).map((f) => dcmdump(f, tags)!);
  const erasedObject = read.find((v) => v['0008,1030'] === 'study from P1');
  const keptObject = read.find((v) => v['0008,1030'] !== 'study from P1');
  return { erasedObject, keptObject, uids: uidsOf(lake) };
}

function uidsOf(lake: string) {
  const [file] = filesUnder(join(lake, 'objects'));
  const v = dcmdump(file!, ['0020,000d', '0020,000e'])!;
  return { study: v['0020,000d']!, series: v['0020,000e']! };
}

/** Every row of a table, in every Parquet file under tables/, every version. */
async function everyRow(
  lake: string,
  table: string,
  columns: string,
): Promise<Array<Record<string, unknown>>> {
  const files = filesUnder(join(lake, 'tables')).filter(
    (f) => f.includes(`/.${table}.v`) && f.endsWith('.parquet'),
  );
  const out: Array<Record<string, unknown>> = [];
  for (const f of files)
    out.push(
      ...(await parquetRows(`SELECT ${columns} FROM read_parquet('${f}')`)),
    );
  return out;
}

/** Rows naming a value in a column, in any table file that has the column. */
async function rowsAnywhere(
  lake: string,
  column: string,
  value: string,
): Promise<number> {
  let n = 0;
  for (const f of filesUnder(join(lake, 'tables')).filter((x) =>
    x.endsWith('.parquet'),
  )) {
    const [r] = await parquetRows(
      `SELECT count(*) AS n FROM read_parquet('${f}') WHERE "${column}" = '${value}'`,
    ).catch(() => [{ n: 0 }]); // a table without the column
    n += Number(r?.n ?? 0);
  }
  return n;
}

async function ingest(lake: string, file: string): Promise<void> {
  const r = await runCli(['ingest', file, '--lake', lake]);
  assert.equal(r.code, 0, r.stderr);
}

for (const compacted of [false, true])
  describe(`erasing a patient whose study and series another patient's instance shares${compacted ? ', after lpacs compact' : ''}`, () => {
    const lake = join(work.path, compacted ? 'compacted' : 'batches');

    it('leaves no row written for the erased instance in any table, and the other patient’s rows right', async () => {
      // The erased patient's batch last: the views showed its rows, and a
      // compaction keeps only its rows of the study and series.
      await ingest(lake, keptFile);
      await ingest(lake, erased);
      if (compacted) {
        const c = await runCli(['compact', '--lake', lake]);
        assert.equal(c.code, 0, c.stderr);
      }
      const { erasedObject, keptObject, uids } = objects(lake);
      const gone = erasedObject!['0010,0020']!;
      const kept = keptObject!['0010,0020']!;
      assert.match(gone, /^LP[A-Z2-7]{16}$/);
      assert.match(kept, /^LP[A-Z2-7]{16}$/);
      assert.notEqual(gone, kept);
      assert.ok((await rowsAnywhere(lake, 'PatientID', gone)) > 0);

      const run = await runCli([
        'erase',
        '--original-patient-id',
        'ERASEME1',
        '--reason',
        't',
        '--lake',
        lake,
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        /^erased 1 instance in 1 series, 1 of them still holding other instances \(1 object, 1 linkage record removed, 0 quarantined originals\)/,
      );

      assert.equal(await rowsAnywhere(lake, 'PatientID', gone), 0);
      assert.equal(
        await rowsAnywhere(lake, 'StudyDescription', 'study from P1'),
        0,
      );
      // The kept patient's rows, as dcmdump reads its object (StudyDate
      // shifted per patient: each patient's own).
      const date = keptObject!['0008,0020']!;
      assert.deepEqual(
        await everyRow(
          lake,
          'studies',
          `"StudyInstanceUID" AS uid, strftime("StudyDate", '%Y%m%d') AS date, "StudyDescription" AS d, "PatientID" AS p`,
        ),
        [{ uid: uids.study, date, d: null, p: kept }],
      );
      assert.deepEqual(
        await everyRow(
          lake,
          'series',
          `"SeriesInstanceUID" AS uid, "StudyInstanceUID" AS study, "PatientID" AS p`,
        ),
        [{ uid: uids.series, study: uids.study, p: kept }],
      );
      assert.deepEqual(
        await everyRow(lake, 'patients', `"PatientID" AS p, "PatientSex" AS s`),
        [{ p: kept, s: keptObject!['0010,0040'] }],
      );
    });

    it('shows only the other patient in the catalog views and the series rollup', async () => {
      const kept = objects(lake).keptObject!['0010,0020']!;
      const catalog = await Catalog.open(lake, { threads: 1 });
      try {
        for (const view of [
          'patients',
          'studies',
          'series',
          'instances',
          await catalog.seriesRollup(),
        ])
          assert.deepEqual(
            await catalog.query(
              `SELECT DISTINCT "PatientID" AS p FROM ${view}`,
            ),
            [{ p: kept }],
            view,
          );
      } finally {
        await catalog.close();
      }
    });
  });

describe('erasing a patient in a lake that retains UIDs, one of them not of digits and dots', () => {
  it('erases every row of it, and the lake takes new files after', async () => {
    // lpacs init --retain uids keeps UIDs as sent; a device wrote a letter
    // and an apostrophe into its series UID (not PS3.5 9.1, but seen).
    const lake = join(work.path, 'retained');
    const dir = join(work.path, 'retained-in');
    mkdirSync(dir);
    const file = join(dir, 'odd.dcm');
    copyFileSync(MR, file);
    const series = "1.2.840.99.7X'1";
    const sop = '1.2.840.99.7X.2';
    execFileSync('dcmodify', [
      '-nb',
      '-gin',
      ...['-i', '(0010,0020)=ERASEME3'],
      ...['-i', `(0020,000e)=${series}`],
      ...['-i', `(0008,0018)=${sop}`],
      file,
    ]);
    const init = await runCli(['init', '--retain', 'uids', '--lake', lake]);
    assert.equal(init.code, 0, init.stderr);
    await ingest(lake, file);
    assert.equal(
      dcmdump(filesUnder(join(lake, 'objects'))[0]!, ['0020,000e'])![
        '0020,000e'
      ],
      series,
    );

    const seriesRows = async () => {
      let n = 0;
      for (const t of ['series', 'instances'])
        n += (await everyRow(lake, t, `"SeriesInstanceUID" AS s`)).filter(
          (r) => r.s === series,
        ).length;
      return n;
    };
    assert.equal(await seriesRows(), 2);
    // Masks a segmentation model made of the instance and of its series,
    // where lpacs predict writes them.
    const layout = new LakeLayout(lake);
    const model = 'a'.repeat(64);
    const masks = [
      layout.maskKey(model, sop, 0),
      layout.segmentationKey(model, sop, 0),
      layout.maskKey(model, series, 0),
    ].map((key) => join(lake, key));
    mkdirSync(join(lake, 'masks', model), { recursive: true });
    for (const m of masks) writeFileSync(m, 'mask');

    const run = await runCli([
      'erase',
      '--original-patient-id',
      'ERASEME3',
      '--reason',
      't',
      '--lake',
      lake,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^erased 1 instance in 1 series/);
    assert.equal(await seriesRows(), 0);
    assert.deepEqual(filesUnder(join(lake, 'objects')), []);
    assert.deepEqual(
      masks.filter((m) => existsSync(m)),
      [],
    );
    // No erasure left pending: another patient's file is taken.
    const other = join(dir, 'other.dcm');
    copyFileSync(MR, other);
    execFileSync('dcmodify', ['-nb', '-gin', '-i', '(0010,0020)=KEEP4', other]);
    await ingest(lake, other);
  });
});
