import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import { Lake, newBatchId } from '@lpacs/lake';
import { SharingStore } from '@lpacs/sharing';
import type { FrozenInstance, SavedCohort } from '@lpacs/sharing';
import {
  addModel,
  CLI,
  CT,
  erasePatient,
  filesUnder,
  gqlAs,
  makeModels,
  parquetRows,
  runCli,
  startUntil,
  tempDir,
  tokenFor,
} from './helpers';

// docs/ops.md: an erasure, a retention --apply and a compaction take the
// lake to themselves, so while `lpacs serve` runs (any mode: it may commit
// at any time, its model jobs too) they stop with LAKE_BUSY naming it. A
// trial found them running beside `lpacs serve` without --dimse-port, and
// an erase during a model job left the job's prediction rows and masks of
// the erased patient in the lake.

const work = tempDir('serve-busy');
after(() => work.remove());

const ADDRESS = /serving lake .* at (http:\/\/127\.0\.0\.1:\d+)\/graphql/;

/** `lpacs serve` on `lake` as a child process, once it listens. */
function serve(lake: string) {
  return startUntil(
    process.execPath,
    [CLI, 'serve', '--lake', lake, '--port', '0'],
    (o) => ADDRESS.test(o),
  );
}

/** The refusal, word for word (docs/ops.md shows it). */
function busy(lake: string, pid: number): string {
  return `lpacs: LAKE_BUSY: lake ${lake} is in use by lpacs serve (process ${pid}); a running server keeps the lake until it stops: stop it for this command (reading with lpacs status is fine)\n`;
}

async function ingestedLake(name: string): Promise<string> {
  const lake = join(work.path, name);
  const r = await runCli(['ingest', CT, '--lake', lake]);
  assert.equal(r.code, 0, r.stderr);
  return lake;
}

/** Each patient's SOP Instance UIDs, read with the test's own DuckDB. */
async function patients(lake: string): Promise<Map<string, string[]>> {
  const rows = await parquetRows(
    `SELECT "PatientID" AS p, "SOPInstanceUID" AS sop FROM read_parquet('${lake}/tables/instances/*/*.parquet') ORDER BY 1, 2`,
  );
  const out = new Map<string, string[]>();
  for (const r of rows)
    out.set(String(r.p), [...(out.get(String(r.p)) ?? []), String(r.sop)]);
  return out;
}

/**
 * The lake's files (relative paths) whose bytes hold `text`, but the
 * audit log's (audit/), which names an erased patient by design, as the
 * tombstone (state/erased-patients.json) does.
 */
function filesHolding(lake: string, text: string): string[] {
  return filesUnder(lake)
    .map((f) => relative(lake, f))
    .filter((f) => !f.startsWith('audit/'))
    .filter((f) => readFileSync(join(lake, f)).includes(text))
    .sort();
}

const KEEPS_PSEUDONYM = ['state/erased-patients.json'];

// The CT corpus: patients, studies and slices by folder (P*/ST*/SE*/*.dcm).
const ctFiles = filesUnder(CT).filter((f) => f.endsWith('.dcm'));
const ctStudies = new Set(
  ctFiles.map((f) => relative(CT, f).split('/').slice(0, 2).join('/')),
);

describe('lpacs serve holds the lake', () => {
  it('refuses erase, retention --apply and compact with LAKE_BUSY naming the server, runs dry runs beside it, and all of them once it stops', async () => {
    const lake = await ingestedLake('held');
    const before = await patients(lake);
    const [patient, sops] = [...before][0]!;
    const cutoff = new Date().toISOString();
    // A project's cohort: one patient's instances, frozen.
    const project = await new SharingStore(lake).saveCohort(
      {
        name: 'project',
        owner: 'rita',
        filter: '{}',
        lakeVersion: 'test',
        counts: { instances: sops.length } as SavedCohort['counts'],
      },
      (
        await parquetRows(
          `SELECT "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", object_key, sha256, size_bytes FROM read_parquet('${lake}/tables/instances/*/*.parquet') WHERE "PatientID" = '${patient}' ORDER BY 1`,
        )
      ).map(
        (r) => ({ ...r, size_bytes: Number(r.size_bytes) }) as FrozenInstance,
      ),
    );
    const server = await serve(lake);
    try {
      const refused = busy(lake, server.pid);
      for (const args of [
        ['erase', '--patient', patient, '--reason', 'consent withdrawn'],
        ['retention', '--before', cutoff, '--reason', 'policy', '--apply'],
        ['retention', '--cohort', project.id, '--reason', 'end', '--apply'],
        ['compact'],
      ]) {
        const r = await runCli([...args, '--lake', lake]);
        assert.deepEqual(
          { code: r.code, stdout: r.stdout, stderr: r.stderr },
          { code: 1, stdout: '', stderr: refused },
          args[0],
        );
      }
      // Counting only reads: it runs beside the server.
      const dry = await runCli([
        'retention',
        '--before',
        cutoff,
        '--reason',
        'policy',
        '--lake',
        lake,
      ]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(
        dry.stdout,
        `would erase ${ctFiles.length} instances in ${ctStudies.size} studies ingested before ${cutoff}; rerun with --apply\n`,
      );
      assert.deepEqual(await patients(lake), before, 'nothing was erased');
      // The list a refused --cohort policy would have applied is not kept.
      const lists = join(lake, 'state', 'retentions');
      assert.deepEqual(existsSync(lists) ? filesUnder(lists) : [], []);
    } finally {
      await server.stop();
    }
    assert.deepEqual(readdirSync(join(lake, 'locks')), []);
    const erased = await erasePatient(lake, patient);
    assert.equal(erased.code, 0, erased.stderr);
    assert.match(
      erased.stdout,
      new RegExp(`^erased ${sops.length} instances `),
    );
    const compacted = await runCli(['compact', '--lake', lake]);
    assert.equal(compacted.code, 0, compacted.stderr);
    const applied = await runCli([
      'retention',
      '--before',
      cutoff,
      '--reason',
      'policy',
      '--apply',
      '--lake',
      lake,
    ]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(
      applied.stdout,
      new RegExp(`^erased ${ctFiles.length - sops.length} instances `),
    );
    assert.deepEqual(await patients(lake), new Map());
  });

  it('does not keep the lake once killed with kill -9', async () => {
    const lake = await ingestedLake('killed');
    const server = await serve(lake);
    process.kill(server.pid, 'SIGKILL');
    await server.stop(); // waits for its exit
    // Its entry is left behind, naming a process that is gone.
    assert.deepEqual(
      readdirSync(join(lake, 'locks')).map((n) =>
        n.split('-').slice(0, 2).join('-'),
      ),
      [`hold-${server.pid}`],
    );
    const compacted = await runCli(['compact', '--lake', lake]);
    assert.equal(compacted.code, 0, compacted.stderr);
    assert.deepEqual(readdirSync(join(lake, 'locks')), []);
  });
});

describe('an erasure and a model job', () => {
  it('is refused while the server runs its job; once it stops, no prediction row or mask of the erased patient is left', async () => {
    const lake = await ingestedLake('job');
    const models = join(work.path, 'models');
    await makeModels(models);
    await addModel(lake, models, 'ct-threshold');
    const token = await tokenFor(lake, Role.Researcher);
    const [patient, sops] = [...(await patients(lake))][0]!;
    const server = await serve(lake);
    const url = `${ADDRESS.exec(server.out)![1]}/graphql`;
    try {
      const { runModel } = await gqlAs<{ runModel: { id: string } }>(
        url,
        token,
        'mutation { runModel(input: { model: "ct-threshold", filter: { modality: ["CT"] } }) { id } }',
      );
      const erase = await erasePatient(lake, patient);
      assert.deepEqual(
        { code: erase.code, stderr: erase.stderr },
        { code: 1, stderr: busy(lake, server.pid) },
      );
      let phase = '';
      for (let i = 0; i < 600 && !['done', 'failed'].includes(phase); i++) {
        await new Promise((r) => setTimeout(r, 100));
        phase = (
          await gqlAs<{ job: { phase: string } }>(
            url,
            token,
            'query ($id: String!) { job(id: $id) { phase } }',
            { id: runModel.id },
          )
        ).job.phase;
      }
      assert.equal(phase, 'done');
    } finally {
      await server.stop();
    }
    const predicted = async () =>
      (
        await parquetRows(
          `SELECT "SOPInstanceUID" AS sop FROM read_parquet('${lake}/tables/predictions/*/*.parquet')`,
        )
      ).map((r) => String(r.sop));
    // ct-threshold: one row per CT slice, and a mask of each.
    assert.equal((await predicted()).length, ctFiles.length);
    const erase = await erasePatient(lake, patient);
    assert.equal(erase.code, 0, erase.stderr);
    const left = await predicted();
    assert.equal(left.length, ctFiles.length - sops.length);
    assert.deepEqual(
      left.filter((s) => sops.includes(s)),
      [],
    );
    const masks = filesUnder(join(lake, 'masks'));
    assert.ok(masks.length >= left.length, 'the other patients keep theirs');
    assert.deepEqual(
      masks.filter((m) => sops.some((s) => m.includes(s))),
      [],
    );
    assert.deepEqual(filesHolding(lake, patient), KEEPS_PSEUDONYM);
  });

  it('erases, when run again, prediction rows and masks left of instances it erased before', async () => {
    const lake = await ingestedLake('leftovers');
    const [patient, sops] = [...(await patients(lake))][0]!;
    const [study] = await parquetRows(
      `SELECT "SeriesInstanceUID" AS se, "StudyInstanceUID" AS st FROM read_parquet('${lake}/tables/instances/*/*.parquet') WHERE "SOPInstanceUID" = '${sops[0]}'`,
    );
    const first = await erasePatient(lake, patient);
    assert.equal(first.code, 0, first.stderr);
    // What the trial found after an erase beside a model job (an lpacs
    // before this fix): the job's commit of the erased instance's row, and
    // its masks, the SEG naming the patient.
    const model = 'a'.repeat(64);
    const mask = `masks/${model}/${sops[0]}-0`;
    mkdirSync(join(lake, 'masks', model), { recursive: true });
    writeFileSync(join(lake, `${mask}.npy`), 'NUMPY');
    writeFileSync(join(lake, `${mask}.seg.dcm`), `SEG of ${patient}`);
    const writer = await Lake.open(lake, undefined, 'append');
    try {
      await writer.commitBatch(newBatchId(), {
        predictions: [
          {
            model_name: 'ct-threshold',
            model_version: '1.0.0',
            model_sha256: model,
            run_id: 'job',
            SOPInstanceUID: sops[0]!,
            frame_index: 0,
            SeriesInstanceUID: String(study!.se),
            StudyInstanceUID: String(study!.st),
            label: 'dense',
            score: null,
            value: 0.5,
            mask_key: `${mask}.npy`,
            created_at: new Date().toISOString(),
          },
        ],
      });
    } finally {
      writer.close();
    }
    const again = await erasePatient(lake, patient);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      /^erased 0 instances in 0 series \(.*, 1 prediction row and 2 mask files of instances erased before swept\)/,
    );
    assert.deepEqual(
      await parquetRows(
        `SELECT * FROM read_parquet('${lake}/tables/predictions/*/*.parquet')`,
      ),
      [],
    );
    assert.deepEqual(filesUnder(join(lake, 'masks')), []);
    assert.deepEqual(filesHolding(lake, patient), KEEPS_PSEUDONYM);
    // Nothing left now: the third run says so.
    const third = await erasePatient(lake, patient);
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stdout, /already erased on .*; nothing left\n$/);
  });
});
