import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { Role } from '@lpacs/access';
import { dcmdump, filesUnder, runCli, tempDir } from './helpers';
import { startPortalStack } from './portalHarness';
import type { PortalStack } from './portalHarness';

// The ageDecade facet labelled the top bucket "90-99", though with Retain
// Patient Characteristics every age over 89 is stored as 90 (090Y): a
// patient of 101 was counted in "90-99". The bucket is "90+".
const work = tempDir('age-decade');
const input = join(work.path, 'in');
const lake = join(work.path, 'lake');
const PASSWORD = 'age decade passphrase';
/** The ages planted, one patient and study each. */
const AGES = [89, 90, 101];

/** Plants one MR object per age with pydicom (Debian python3-pydicom). */
const PLANT = `
import sys
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
out, ages = sys.argv[1], [int(a) for a in sys.argv[2:]]
for i, age in enumerate(ages):
    uid = f"1.2.826.0.1.3680043.99.31.{i + 1}"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = uid
    ds.StudyInstanceUID = uid + ".1"
    ds.SeriesInstanceUID = uid + ".2"
    ds.Modality = "MR"
    ds.StudyDate = "20200301"
    ds.PatientName = f"DECADE^PATIENT{i}"
    ds.PatientID = f"DECADE{i}"
    ds.PatientAge = f"{age:03d}Y"
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.save_as(f"{out}/{i}.dcm", write_like_original=False)
`;

/** The decade of an age as HIPAA's rule leaves it: over 89 is "90+". */
function bucket(age: number): string {
  if (age >= 90) return '90+';
  const d = Math.floor(age / 10) * 10;
  return `${d}-${d + 9}`;
}

let stack: PortalStack;
let page: Page;

before(async () => {
  mkdirSync(input, { recursive: true });
  execFileSync('/usr/bin/python3', ['-c', PLANT, input, ...AGES.map(String)]);
  const init = await runCli([
    ...['init', '--lake', lake, '--retain', 'patient-characteristics'],
  ]);
  assert.equal(init.code, 0, init.stderr);
  const run = await runCli(['ingest', input, '--lake', lake]);
  assert.equal(run.code, 0, run.stderr);
  stack = await startPortalStack({
    lake,
    password: PASSWORD,
    users: { rita: Role.Researcher },
    tokens: ['rita'],
  });
  page = (await stack.signIn('rita')).page;
});
after(async () => {
  await stack?.close();
  work.remove();
});

/** The facet as the API gives it, sorted by value. */
async function ageDecade(filter: object | null = null) {
  const data = await stack.gql<{
    cohort: { facets: { ageDecade: Array<{ value: string; count: number }> } };
  }>(
    'rita',
    'query ($f: CohortFilter) { cohort(filter: $f) { facets { ageDecade { value count } } } }',
    { f: filter },
  );
  return data.cohort.facets.ageDecade
    .map((v) => `${v.value}=${v.count}`)
    .sort();
}

async function studies(filter: object): Promise<number> {
  const data = await stack.gql<{ cohort: { counts: { studies: number } } }>(
    'rita',
    'query ($f: CohortFilter) { cohort(filter: $f) { counts { studies } } }',
    { f: filter },
  );
  return data.cohort.counts.studies;
}

describe('the ageDecade facet over ages capped at 90', () => {
  it('stores the planted ages as HIPAA leaves them (dcmdump)', () => {
    const stored = filesUnder(join(lake, 'objects'))
      .map((f) => dcmdump(f, ['0010,1010'])?.['0010,1010'])
      .filter((a): a is string => a !== undefined)
      .sort();
    assert.deepEqual(stored, ['089Y', '090Y', '090Y']);
  });

  it('counts 89 in 80-89 and 90 and 101 in 90+', async () => {
    const expected = new Map<string, number>();
    for (const age of AGES)
      expected.set(bucket(age), (expected.get(bucket(age)) ?? 0) + 1);
    assert.deepEqual(
      await ageDecade(),
      [...expected].map(([v, n]) => `${v}=${n}`).sort(),
    );
  });

  it('selects each bucket with the age range it names', async () => {
    // "90+" is ageMin 90 with no upper bound; "80-89" is 80 to 89.
    const over89 = AGES.filter((a) => a >= 90).length;
    assert.equal(await studies({ ageMin: 90 }), over89);
    assert.equal(
      await studies({ ageMin: 80, ageMax: 89 }),
      AGES.filter((a) => a >= 80 && a <= 89).length,
    );
  });

  it('shows the buckets in the portal, and its age fields select 90+', async () => {
    const bars = page.getByRole('list', { name: /Age at study by decade/ });
    const rows = () =>
      bars.locator('li').evaluateAll((items) =>
        items.map((li) =>
          [...li.querySelectorAll('span')]
            .map((s) => s.textContent ?? '')
            .filter(Boolean)
            .join('='),
        ),
      );
    await bars.locator('li').first().waitFor({ timeout: 15_000 });
    const facet = await ageDecade();
    assert.deepEqual((await rows()).sort(), facet);
    assert.ok(facet.some((v) => v.startsWith('90+=')));
    await page.getByLabel('From age').fill('90');
    const counts = page.locator(
      'dl[aria-label="Cohort counts"] dd[data-level="studies"]',
    );
    const end = Date.now() + 10_000;
    const want = String(AGES.filter((a) => a >= 90).length);
    while ((await counts.textContent()) !== want && Date.now() < end)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(await counts.textContent(), want);
    // The facet ignores its own filter, so both bars stay.
    assert.deepEqual((await rows()).sort(), facet);
  });
});
