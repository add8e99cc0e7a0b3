import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Catalog, Lake, packAttributeRows } from '../index';

const root = mkdtempSync(join(tmpdir(), 'lpacs-lake-'));
after(() => rmSync(root, { recursive: true, force: true }));

const row = (i: number) => ({
  SOPInstanceUID: `2.25.${i}`,
  SeriesInstanceUID: '2.25.900',
  StudyInstanceUID: '2.25.800',
  // The form of a pseudonym (PATIENT_PSEUDONYM): an erasure checks it.
  PatientID: 'LPTESTTESTTESTTEST',
  Modality: 'CT',
  StudyDate: '2020-01-02',
  ingested_at: '2026-01-01T00:00:00Z',
});

async function count(lake: string): Promise<number> {
  const catalog = await Catalog.open(lake, { threads: 1 });
  try {
    const [r] = await catalog.query('SELECT count(*) AS n FROM instances');
    return Number(r?.n);
  } finally {
    await catalog.close();
  }
}

describe('Lake', () => {
  it('creates its secret with mode 0600 and keeps it', async () => {
    const dir = join(root, 'secret');
    const lake = await Lake.open(dir);
    const a = await lake.siteSecret();
    const b = await lake.siteSecret();
    assert.equal(a.length, 32);
    assert.ok(a.equals(b));
    assert.equal(statSync(join(dir, 'keys', 'site.key')).mode & 0o777, 0o600);
    lake.close();
  });

  it('rolls an interrupted commit forward when it opens', async () => {
    const dir = join(root, 'journal');
    const lake = await Lake.open(dir);
    await lake.commitBatch('b1', { instances: [row(1), row(2)] });
    lake.close();
    assert.equal(await count(dir), 2);
    // Put the lake back in the state of a kill after the journal was written.
    const committed = join(
      dir,
      'tables',
      'instances',
      'batch=b1',
      'part-0.parquet',
    );
    const staged = join(dir, 'staging', 'b1', 'instances.parquet');
    mkdirSync(join(dir, 'staging', 'b1'), { recursive: true });
    renameSync(committed, staged);
    writeFileSync(
      join(dir, 'journal', 'b1.json'),
      JSON.stringify({
        batchId: 'b1',
        moves: [{ from: staged, to: committed }],
      }),
    );
    assert.equal(await count(dir), 0);
    (await Lake.open(dir)).close();
    assert.equal(await count(dir), 2);
    assert.deepEqual(readdirSync(join(dir, 'journal')), []);
    assert.deepEqual(readdirSync(join(dir, 'staging')), []);
  });

  it('drops staging that never reached its journal', async () => {
    const dir = join(root, 'staging');
    (await Lake.open(dir)).close();
    mkdirSync(join(dir, 'staging', 'b9'), { recursive: true });
    writeFileSync(join(dir, 'staging', 'b9', 'instances.parquet'), 'partial');
    (await Lake.open(dir)).close();
    assert.ok(!existsSync(join(dir, 'staging', 'b9')));
    assert.equal(await count(dir), 0);
  });

  it('stores an object under its hash once', async () => {
    const lake = await Lake.open(join(root, 'objects'));
    const bytes = Buffer.from('one');
    const sha = createHash('sha256').update(bytes).digest('hex');
    const key = lake.putObjectSync(bytes, sha);
    assert.equal(key, `objects/${sha.slice(0, 2)}/${sha}.dcm`);
    const path = join(root, 'objects', key);
    assert.equal(lake.putObjectSync(bytes, sha), key);
    assert.deepEqual(readdirSync(dirname(path)), [`${sha}.dcm`]);
    assert.deepEqual(readFileSync(path), bytes);
    assert.deepEqual(readdirSync(lake.objectStaging), []);
    lake.close();
  });

  it('rewrites an object a crash left empty under its final name', async () => {
    const dir = join(root, 'torn');
    const lake = await Lake.open(dir);
    const bytes = Buffer.from('the whole object');
    const sha = createHash('sha256').update(bytes).digest('hex');
    const path = join(dir, lake.layout.objectKey(sha));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, ''); // renamed, never flushed, then power lost
    lake.putObjectSync(bytes, sha);
    assert.deepEqual(readFileSync(path), bytes);
    lake.close();
  });

  it('drops objects a killed writer left in staging when it opens', async () => {
    const dir = join(root, 'leftover');
    (await Lake.open(dir)).close();
    // pid_max is at most 2^22 on Linux: no process has this pid.
    const dead = `writer-999999999-0badf00d@${hostname()}`;
    writeFileSync(join(dir, 'locks', dead), '');
    mkdirSync(join(dir, 'staging', dead, 'objects'), { recursive: true });
    writeFileSync(join(dir, 'staging', dead, 'objects', 'half.1'), 'half');
    // What a writer of an older version left, in the one staging folder.
    mkdirSync(join(dir, 'staging', 'objects'), { recursive: true });
    writeFileSync(join(dir, 'staging', 'objects', 'half.1'), 'half');
    (await Lake.open(dir, undefined, 'append')).close();
    assert.deepEqual(readdirSync(join(dir, 'staging')), []);
    assert.deepEqual(readdirSync(join(dir, 'locks')), []);
  });

  it('answers queries on an empty lake with the schema and no rows', async () => {
    assert.equal(await count(join(root, 'empty')), 0);
    // A leftover empty batch directory must not break readers either.
    mkdirSync(join(root, 'empty', 'tables', 'instances', 'batch=zz'), {
      recursive: true,
    });
    assert.equal(await count(join(root, 'empty')), 0);
  });

  it('stores attributes given as rows and packed alike, separators and all', async () => {
    const dir = join(root, 'packed');
    const lake = await Lake.open(dir);
    const attribute = (sop: string, tag: string, value: string | null) => ({
      SOPInstanceUID: sop,
      PatientID: 'LPTEST',
      tag,
      keyword: tag === '00100010' ? 'PatientName' : null,
      vr: 'LO',
      path: tag === '00081150' ? '00081199[0].00081150' : '',
      value,
      value_num: value === '7' ? 7 : null,
    });
    // A value holding the separators (and NUL) must stay one row.
    const given = [
      attribute('2.25.1', '00100010', 'A\x1eB\x1fC\x00D'),
      attribute('2.25.1', '00081150', null),
      attribute('2.25.1', '00091010', '7'),
      attribute('2.25.2', '00100010', ''),
    ];
    try {
      await lake.commitBatch('b1', {
        instances: [row(1), row(2)],
        attributes: given.slice(0, 2),
        packedAttributes: packAttributeRows(given.slice(2)),
      });
    } finally {
      lake.close();
    }
    const catalog = await Catalog.open(dir, { threads: 1 });
    try {
      const got = await catalog.query(
        'SELECT "SOPInstanceUID", "PatientID", tag, keyword, vr, path, value, value_num FROM attributes ORDER BY "SOPInstanceUID", tag',
      );
      // By hand: separators become U+FFFD, an empty value is NULL (as an
      // empty value is not stored), the top level's path stays ''.
      assert.deepEqual(got, [
        { ...given[1], value: null },
        { ...given[2] },
        { ...given[0], value: 'A\ufffdB\ufffdC\ufffdD' },
        { ...given[3], value: null },
      ]);
    } finally {
      await catalog.close();
    }
  });

  it('keeps the series rollup equal to instances through commits, a compaction and an erasure', async () => {
    const dir = join(root, 'rollup');
    // Series 900 spans both batches; series 901 holds an instance whose
    // Manufacturer differs, so it has two rollup rows.
    const inst = (i: number, series: string, manufacturer: string) => ({
      ...row(i),
      SeriesInstanceUID: series,
      Manufacturer: manufacturer,
    });
    const first = [inst(1, '2.25.900', 'A'), inst(2, '2.25.900', 'A')];
    const second = [
      inst(3, '2.25.900', 'A'),
      inst(4, '2.25.901', 'A'),
      inst(5, '2.25.901', 'B'),
    ];
    const rollup = async (catalog: Catalog) => {
      const table = await catalog.seriesRollup();
      return catalog.query(
        `SELECT "SeriesInstanceUID" AS s, "Manufacturer" AS m, sum(n) AS n FROM ${table} GROUP BY ALL ORDER BY ALL`,
      );
    };
    const lake = await Lake.open(dir);
    const catalog = await Catalog.open(dir, { threads: 1 });
    try {
      assert.deepEqual(await rollup(catalog), []);
      await lake.commitBatch('b1', { instances: first });
      assert.deepEqual(await rollup(catalog), [
        { s: '2.25.900', m: 'A', n: 2 },
      ]);
      await lake.commitBatch('b2', { instances: second });
      // By hand: 900 has 3 instances over two batches, 901 one per maker.
      const expected = [
        { s: '2.25.900', m: 'A', n: 3 },
        { s: '2.25.901', m: 'A', n: 1 },
        { s: '2.25.901', m: 'B', n: 1 },
      ];
      assert.deepEqual(await rollup(catalog), expected);
      await lake.compact();
      assert.deepEqual(await rollup(catalog), expected);
      await lake.eraseInstances({
        sql: '"SOPInstanceUID" = ?',
        params: ['2.25.5'],
      });
      assert.deepEqual(await rollup(catalog), expected.slice(0, 2));
    } finally {
      await catalog.close();
      lake.close();
    }
  });

  it('erases every level row and series-level prediction written for erased instances, and makes again from the instances left the rows of a series another patient shares', async () => {
    const dir = join(root, 'shared');
    // Two patients' instances in one study and series (as after a
    // PatientID correction); the erased one's batch is the later, so its
    // rows are the ones the views show before the erasure.
    const [gone, kept] = ['LPAAAAAAAAAAAAAAAA', 'LPBBBBBBBBBBBBBBBB'];
    const theirs = {
      ...row(2),
      PatientID: kept,
      PatientSex: 'M',
      StudyDate: '2019-05-06',
      StudyDescription: null,
      ingested_at: '2026-01-01T00:00:00Z',
    };
    const mine = {
      ...row(1),
      PatientID: gone,
      PatientSex: 'F',
      StudyDescription: 'from the erased patient',
      ingested_at: '2026-01-02T00:00:00Z',
    };
    const level = (i: typeof mine | typeof theirs) => ({
      patients: [{ PatientID: i.PatientID, PatientSex: i.PatientSex }],
      studies: [
        {
          StudyInstanceUID: i.StudyInstanceUID,
          StudyDate: i.StudyDate,
          StudyDescription: i.StudyDescription,
          PatientID: i.PatientID,
        },
      ],
      series: [
        {
          SeriesInstanceUID: i.SeriesInstanceUID,
          Modality: i.Modality,
          StudyInstanceUID: i.StudyInstanceUID,
          PatientID: i.PatientID,
        },
      ],
    });
    const model = 'ab'.repeat(32);
    const prediction = (sop: string | null) => ({
      model_name: 'm',
      model_version: '1',
      model_sha256: model,
      run_id: 'r',
      SOPInstanceUID: sop,
      frame_index: 0,
      SeriesInstanceUID: '2.25.900',
      StudyInstanceUID: '2.25.800',
      label: 'x',
      value: 0.5,
      mask_key: `masks/${model}/${sop ?? '2.25.900'}-0.npy`,
      created_at: '2026-01-03T00:00:00Z',
    });
    const masks = join(dir, 'masks', model);
    const lake = await Lake.open(dir);
    try {
      await lake.commitBatch('b1', { instances: [theirs], ...level(theirs) });
      await lake.commitBatch('b2', { instances: [mine], ...level(mine) });
      await lake.commitBatch('b3', {
        predictions: [
          prediction('2.25.1'),
          prediction('2.25.2'),
          prediction(null),
        ],
      });
      mkdirSync(masks, { recursive: true });
      for (const uid of ['2.25.1', '2.25.2', '2.25.900'])
        writeFileSync(join(masks, `${uid}-0.npy`), 'mask');
      await lake.eraseInstances({ sql: '"PatientID" = ?', params: [gone] });
    } finally {
      lake.close();
    }
    // Every row of every table version left, not the views' latest ones.
    const catalog = await Catalog.open(dir, { threads: 1 });
    try {
      const rows = (sql: string) => catalog.query(sql);
      assert.deepEqual(
        await rows(`SELECT "PatientID", "PatientSex" FROM patients_batches`),
        [{ PatientID: kept, PatientSex: 'M' }],
      );
      assert.deepEqual(
        await rows(
          `SELECT "StudyInstanceUID", strftime("StudyDate", '%Y-%m-%d') AS d, "StudyDescription", "PatientID" FROM studies_batches`,
        ),
        [
          {
            StudyInstanceUID: '2.25.800',
            d: '2019-05-06',
            StudyDescription: null,
            PatientID: kept,
          },
        ],
      );
      assert.deepEqual(
        await rows(
          `SELECT "SeriesInstanceUID", "StudyInstanceUID", "PatientID" FROM series_batches`,
        ),
        [
          {
            SeriesInstanceUID: '2.25.900',
            StudyInstanceUID: '2.25.800',
            PatientID: kept,
          },
        ],
      );
      // The series-level prediction was made from the erased pixels too.
      assert.deepEqual(
        await rows(`SELECT "SOPInstanceUID" FROM predictions_batches`),
        [{ SOPInstanceUID: '2.25.2' }],
      );
    } finally {
      await catalog.close();
    }
    assert.deepEqual(readdirSync(masks), ['2.25.2-0.npy']);
    // No older version of a table is left to hold the erased rows: the
    // version directories are those the tables' links name.
    const tables = join(dir, 'tables');
    const names = readdirSync(tables);
    assert.deepEqual(
      names.filter((n) => n.startsWith('.')).sort(),
      names
        .filter((n) => !n.startsWith('.'))
        .map((n) => readlinkSync(join(tables, n)))
        .sort(),
    );
  });

  it('answers right at once after another process compacted twice (the version its views read is gone)', async () => {
    const dir = join(root, 'swapped');
    const lake = await Lake.open(dir);
    await lake.commitBatch('b1', { instances: [row(1), row(2)] });
    await lake.commitBatch('b2', { instances: [row(3)] });
    lake.close();
    // Views that trust their look at the tables for a minute.
    const catalog = await Catalog.open(dir, { threads: 1, recheckMs: 60_000 });
    try {
      const n = async () =>
        Number(
          (await catalog.query('SELECT count(*) AS n FROM instances'))[0]?.n,
        );
      assert.equal(await n(), 3);
      // Two compactions elsewhere: the second deletes the version the
      // catalog's views still name (this process changed nothing).
      const child = spawnSync(
        process.execPath,
        [
          '-e',
          `const { Lake } = require(${JSON.stringify(join(__dirname, '..', 'index.js'))});
           (async () => {
             const lake = await Lake.open(${JSON.stringify(dir)});
             await lake.compact();
             await lake.commitBatch('b3', { instances: [${JSON.stringify(row(4))}] });
             await lake.compact();
             lake.close();
           })();`,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(child.status, 0, child.stderr);
      assert.equal(await n(), 4);
    } finally {
      await catalog.close();
    }
  });

  it('lets one process write alone, or several append, and any number read', async () => {
    const dir = join(root, 'lock');
    const busy = new RegExp(
      `is being written by process ${process.pid}; wait for it`,
    );
    const writer = await Lake.open(dir);
    await assert.rejects(Lake.open(dir), { code: 'LAKE_BUSY' });
    await assert.rejects(Lake.open(dir, undefined, 'append'), {
      code: 'LAKE_BUSY',
      message: busy,
    });
    const reader = await Lake.open(dir, undefined, 'read');
    reader.close();
    writer.close();
    const a = await Lake.open(dir, undefined, 'append');
    const b = await Lake.open(dir, undefined, 'append');
    await assert.rejects(Lake.open(dir), { code: 'LAKE_BUSY', message: busy });
    a.close();
    await assert.rejects(Lake.open(dir), { code: 'LAKE_BUSY' });
    b.close();
    assert.deepEqual(readdirSync(join(dir, 'locks')), []);
    (await Lake.open(dir)).close();
  });

  it('takes over the lock entries of writers that are gone (kill -9)', async () => {
    const dir = join(root, 'stale');
    (await Lake.open(dir)).close();
    for (const kind of ['exclusive', 'writer', 'mutex'])
      writeFileSync(
        join(dir, 'locks', `${kind}-999999999-0badf00d@${hostname()}`),
        '',
      );
    (await Lake.open(dir)).close();
    assert.deepEqual(readdirSync(join(dir, 'locks')), []);
  });

  it("counts another host's entry as live: its process cannot be checked from here", async () => {
    const dir = join(root, 'elsewhere');
    (await Lake.open(dir)).close();
    const entry = join(dir, 'locks', 'writer-4242-0badf00d@other-host');
    writeFileSync(entry, '');
    await assert.rejects(Lake.open(dir), {
      code: 'LAKE_BUSY',
      message: /by process 4242 on other-host; wait for it/,
    });
    (await Lake.open(dir, undefined, 'append')).close();
    assert.ok(existsSync(entry));
  });

  it('refuses to read a lake that does not exist, and creates nothing', async () => {
    const dir = join(root, 'typo');
    await assert.rejects(Lake.open(dir, undefined, 'read'), {
      code: 'NOT_A_LAKE',
    });
    assert.ok(!existsSync(dir));
  });

  it('compacts batches into one while readers see every row exactly once', async () => {
    const dir = join(root, 'compact');
    const lake = await Lake.open(dir);
    for (let b = 0; b < 12; b++) {
      await lake.commitBatch(`b${String(b).padStart(2, '0')}`, {
        instances: [row(2 * b), row(2 * b + 1)],
        studies: [
          {
            StudyInstanceUID: '2.25.800',
            PatientID: 'LPTEST',
            StudyDescription: `v${b}`,
          },
        ],
      });
    }
    const catalog = await Catalog.open(dir, { threads: 1 });
    const seen: number[] = [];
    let done = false;
    const reading = (async () => {
      while (!done) {
        const [r] = await catalog.query(
          'SELECT count(*) AS n, count(DISTINCT "SOPInstanceUID") AS u FROM instances',
        );
        seen.push(Number(r?.n), Number(r?.u));
      }
    })();
    const result = await lake.compact();
    done = true;
    await reading;
    assert.ok(seen.length > 0);
    assert.deepEqual([...new Set(seen)], [24]);
    assert.deepEqual(
      result.find((c) => c.table === 'instances'),
      { table: 'instances', batchesBefore: 12, batchesAfter: 1, rows: 24 },
    );
    const [study] = await catalog.query(
      'SELECT "StudyDescription" AS d, count(*) OVER () AS n FROM studies',
    );
    assert.deepEqual(study, { d: 'v11', n: 1 }); // the latest batch's row survives
    await catalog.close();
    lake.close();
  });

  it('stops a query past its time limit and keeps answering others', async () => {
    const catalog = await Catalog.open(join(root, 'empty'), {
      threads: 1,
      timeoutMs: 100,
    });
    try {
      const started = Date.now();
      await assert.rejects(
        catalog.query('SELECT count(*) AS n FROM range(100000000000)'),
        { code: 'QUERY_TIMEOUT', message: /longer than 100 ms/ },
      );
      assert.ok(Date.now() - started < 5000, 'interrupted, not run out');
      const [r] = await catalog.query('SELECT 41 + 1 AS n');
      assert.equal(r?.n, 42);
    } finally {
      await catalog.close();
    }
  });

  // CI hung at exit once: a query still running when close() dropped the
  // connection made DuckDB destroy its context on a libuv thread while
  // holding the context's lock, and process.exit waited on that thread.
  it('closes with queries in flight: they settle, and the process exits', async () => {
    const dir = join(root, 'inflight');
    const lake = await Lake.open(dir);
    await lake.commitBatch('b00', { instances: [row(1), row(2)] });
    lake.close();
    const script = `
      const { Catalog } = require(${JSON.stringify(join(__dirname, '..', 'index.js'))});
      (async () => {
        const catalog = await Catalog.open(${JSON.stringify(dir)}, { threads: 2 });
        const running = [];
        for (let i = 0; i < 16; i++)
          running.push(catalog.query('SELECT count(*) AS n FROM instances, range(20000)'));
        const closing = catalog.close();
        const late = await catalog.query('SELECT 1').then(() => 'ran', (e) => e.message);
        const settled = await Promise.allSettled(running);
        await closing;
        console.log(JSON.stringify({ late, counts: settled.map((s) => s.status === 'fulfilled' ? s.value[0].n : s.reason.message) }));
        process.exit(0);
      })();`;
    for (let round = 0; round < 4; round++) {
      const child = spawnSync(process.execPath, ['-e', script], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(child.signal, null, 'the process hung at exit');
      assert.equal(child.status, 0, child.stderr);
      const out = JSON.parse(child.stdout) as {
        late: string;
        counts: unknown[];
      };
      assert.match(out.late, /catalog is closed/);
      assert.deepEqual(out.counts, new Array(16).fill(2 * 20000));
    }
  });
});
