import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ts from 'typescript';
import { Role } from '@lpacs/access';
import { startServer } from '@lpacs/api';
import type { RunningServer } from '@lpacs/api';
import {
  CT,
  REPO,
  filesUnder,
  independentCounts,
  dcmdump,
  runCli,
  tempDir,
  tokenFor,
} from './helpers';

// The README's client examples, run as a data scientist would run them.
const work = tempDir('clients');
const lake = join(work.path, 'lake');
let server: RunningServer;
let token: string;
let expected: ReturnType<typeof independentCounts>;

before(async () => {
  const ingested = await runCli(['ingest', CT, '--lake', lake, '--json']);
  assert.equal(ingested.code, 0, ingested.stderr);
  token = await tokenFor(lake, Role.Researcher);
  server = await startServer({ lake, port: 0 });
  const ct = filesUnder(CT).filter(
    (f) =>
      f.endsWith('.dcm') && dcmdump(f, ['0008,0060'])?.['0008,0060'] === 'CT',
  );
  expected = independentCounts(ct);
});
after(async () => {
  await server?.close();
  work.remove();
});

// Asynchronous: the server runs in this process and must keep answering.
const run = promisify(execFile);

function env(): NodeJS.ProcessEnv {
  return { ...process.env, LPACS_URL: server.url, LPACS_TOKEN: token };
}

describe('client examples in examples/', () => {
  it('Python (requests) gets the cohort counts', async () => {
    const { stdout: out } = await run(
      '/usr/bin/python3',
      [join(REPO, 'examples', 'cohort_client.py'), 'CT'],
      { env: env(), encoding: 'utf8' },
    );
    const answer = JSON.parse(out) as {
      counts: { instances: number; studies: number };
    };
    assert.equal(answer.counts.instances, expected.instances);
    assert.equal(answer.counts.studies, expected.studies);
  });

  it('TypeScript (fetch) type-checks strictly and gets the same counts', async () => {
    const file = join(REPO, 'examples', 'cohortClient.ts');
    const options = {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
      types: ['node'],
      typeRoots: [join(REPO, 'node_modules', '@types')],
    };
    const program = ts.createProgram([file], options);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    assert.deepEqual(problems, []);
    const out = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: options,
    });
    const js = join(work.path, 'cohortClient.js');
    writeFileSync(js, out.outputText);
    const { stdout } = await run(process.execPath, [js, 'CT'], {
      env: env(),
      encoding: 'utf8',
    });
    const answer = JSON.parse(stdout) as {
      counts: { instances: number; studies: number };
    };
    assert.equal(answer.counts.instances, expected.instances);
    assert.equal(answer.counts.studies, expected.studies);
  });

  it('the Python client reports a refused token clearly', async () => {
    let stderr = '';
    try {
      await run(
        '/usr/bin/python3',
        [join(REPO, 'examples', 'cohort_client.py'), 'CT'],
        {
          env: {
            ...env(),
            LPACS_TOKEN: 'lpat_0000000000000000_' + 'A'.repeat(43),
          },
          encoding: 'utf8',
        },
      );
    } catch (err) {
      stderr = String((err as { stderr?: string }).stderr);
    }
    assert.match(stderr, /401/);
  });
});
