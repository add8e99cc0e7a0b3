import assert from 'node:assert/strict';
import { cpSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Role } from '@lpacs/access';
import { SAMPLE, bearer, runCli, tempDir } from './helpers';
import { navLink, startPortalStack } from './portalHarness';
import type { PortalStack } from './portalHarness';

// lakeStatus { quarantined { source } } answered the original path, e.g.
// exportdir/ZXQUARTZ_HELGA_ZQID778899/notes.txt: export folders are often
// named after the patient, so an API answer carried PHI. The API now gives
// the entry's id, code, reason, time, a known extension and the size kept;
// the path stays with the operator (lpacs quarantine list).
const work = tempDir('quarantine-api');
const input = join(work.path, 'exportdir');
const lake = join(work.path, 'lake');
const PASSWORD = 'quarantine api passphrase';
/** A patient's name and id, as the folder is named. */
const MARKERS = ['ZXQUARTZ', 'HELGA', 'ZQID778899'];
const FOLDER = `${MARKERS[0]}_${MARKERS[1]}_${MARKERS[2]}`;
const NOTE = 'notes.txt';
/** A DICOM file under the same folder that the lake quarantines (kept). */
const KEPT = 'deflated.dcm';

let stack: PortalStack;

before(async () => {
  mkdirSync(join(input, FOLDER), { recursive: true });
  writeFileSync(join(input, FOLDER, NOTE), 'follow-up in 6 weeks\n');
  // A secondary capture without BurnedInAnnotation NO: quarantined with
  // its bytes kept, by a lake made by ingest.
  cpSync(join(SAMPLE, KEPT), join(input, FOLDER, KEPT));
  cpSync(join(SAMPLE, 'rle.dcm'), join(input, FOLDER, 'rle.dcm'));
  const run = await runCli(['ingest', input, '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  stack = await startPortalStack({
    lake,
    password: PASSWORD,
    users: { ada: Role.Admin, sten: Role.Steward },
    tokens: ['ada', 'sten'],
  });
});
after(async () => {
  await stack?.close();
  work.remove();
});

const STATUS = `{ lakeStatus { quarantinedCount quarantined {
  id code message at extension sizeBytes __typename } } }`;

/** The raw text of a GraphQL answer to `query` as `user`. */
async function raw(user: string, query: string): Promise<string> {
  const res = await fetch(stack.api.url, {
    method: 'POST',
    headers: bearer(stack.token[user]!),
    body: JSON.stringify({ query }),
  });
  return res.text();
}

function assertNoMarker(text: string, where: string) {
  for (const m of [...MARKERS, NOTE, KEPT, 'exportdir'])
    assert.ok(!text.includes(m), `${where} holds ${m}`);
}

describe('quarantine entries over the API', () => {
  it('the operator still sees the path on the machine', async () => {
    const list = await runCli(['quarantine', 'list', '--lake', lake]);
    assert.equal(list.code, 0, list.stderr);
    assert.ok(list.stdout.includes(join(FOLDER, NOTE)), list.stdout);
  });

  it('gives admins and stewards each entry without its path or name', async () => {
    for (const user of ['ada', 'sten']) {
      const text = await raw(user, STATUS);
      assertNoMarker(text, `lakeStatus as ${user}`);
      const body = JSON.parse(text) as {
        data: {
          lakeStatus: {
            quarantinedCount: number;
            quarantined: Array<{
              code: string;
              extension: string | null;
              sizeBytes: number | null;
            }>;
          };
        };
      };
      const entries = body.data.lakeStatus.quarantined;
      assert.equal(entries.length, 2, text);
      const note = entries.find((e) => e.code === 'NOT_DICOM');
      // Not DICOM: only the reason is kept, so no size.
      assert.deepEqual(
        { extension: note?.extension, sizeBytes: note?.sizeBytes },
        { extension: 'txt', sizeBytes: null },
      );
      const kept = entries.find((e) => e.code === 'BURNED_IN_ANNOTATION');
      assert.deepEqual(
        { extension: kept?.extension, sizeBytes: kept?.sizeBytes },
        { extension: 'dcm', sizeBytes: statSync(join(SAMPLE, KEPT)).size },
      );
    }
  });

  it('has no field that answers the source any more', async () => {
    const text = await raw('ada', '{ lakeStatus { quarantined { source } } }');
    assertNoMarker(text, 'an ask for source');
    const body = JSON.parse(text) as {
      errors?: Array<{ message: string }>;
    };
    assert.match(
      body.errors?.[0]?.message ?? '',
      /Cannot query field "source"/,
    );
    const fields = JSON.parse(
      await raw(
        'ada',
        '{ __type(name: "QuarantineEntry") { fields { name } } }',
      ),
    ) as { data: { __type: { fields: Array<{ name: string }> } } };
    assert.deepEqual(fields.data.__type.fields.map((f) => f.name).sort(), [
      'at',
      'code',
      'extension',
      'id',
      'message',
      'sizeBytes',
    ]);
  });

  it('shows the portal Lake page without the path or name', async () => {
    for (const user of ['ada', 'sten']) {
      const { page, context } = await stack.signIn(user);
      await navLink(page, 'Lake').click();
      const table = page.getByRole('table', { name: 'Quarantine' });
      await table.locator('tbody tr').nth(1).waitFor({ timeout: 15_000 });
      assert.equal(await table.locator('tbody tr').count(), 2);
      assert.match(
        (await table
          .locator('tbody tr[data-code="NOT_DICOM"]')
          .textContent()) ?? '',
        /txt/,
      );
      assertNoMarker(await page.content(), `the Lake page as ${user}`);
      await context.close();
    }
  });
});
