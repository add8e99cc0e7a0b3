import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_LIMIT, qidoQuery } from '../dicomweb/qidoQuery';

function query(level: 'study' | 'series' | 'instance', search: string) {
  return qidoQuery(level, new URLSearchParams(search), {});
}

function status(fn: () => unknown): { status?: number; message?: string } {
  try {
    fn();
  } catch (err) {
    return err as { status?: number; message?: string };
  }
  return {};
}

describe('qidoQuery', () => {
  it('turns a date range, a wildcard and a UID list into parameters, never SQL text', () => {
    const q = query(
      'study',
      'StudyDate=20200101-20201231&PatientID=LP*_x%3F&StudyInstanceUID=1.2.3,1.2.4',
    );
    assert.deepEqual(q.params, [
      '2020-01-01',
      '2020-12-31',
      'LP%\\_x_',
      '1.2.3',
      '1.2.4',
      MAX_LIMIT + 1,
      0,
    ]);
    assert.doesNotMatch(q.sql, /LP|2020|1\.2\.3/);
  });

  it('takes keys by tag as well as keyword, and open-ended ranges', () => {
    const q = query('study', '00080020=-19991231&limit=5&offset=10');
    assert.deepEqual(q.params, ['1999-12-31', 6, 10]);
    assert.match(q.sql, /"StudyDate" <= CAST\(\? AS DATE\)/);
  });

  it('returns the default fields plus includefield ones, in tag order', () => {
    const q = query('series', 'includefield=BodyPartExamined,00080070');
    const tags = q.fields.map((f) => f.tag);
    assert.deepEqual(tags, [...tags].sort());
    assert.ok(tags.includes('00180015') && tags.includes('00080070'));
    assert.ok(!tags.includes('00201208'), 'no study counts at series level');
    // AccessionNumber (0008,0050) is a PS3.6 attribute the catalog lacks.
    assert.deepEqual(query('series', 'includefield=AccessionNumber').warnings, [
      'includefield AccessionNumber is not available',
    ]);
  });

  it('refuses unknown keys, bad dates, bad UIDs and bad limits with 400 naming them', () => {
    for (const [search, name] of [
      ['Foo=1', 'Foo'],
      ['StudyDate=20200230', 'StudyDate'],
      ['StudyDate=2020', 'StudyDate'],
      ['StudyInstanceUID=1.2.a', 'StudyInstanceUID'],
      ['limit=ten', 'limit'],
      ['includefield=Nope', 'includefield'],
      ['includefield=PatientAge,0008005X', 'includefield'],
      ['offset=-1', 'offset'],
      ['NumberOfStudyRelatedInstances=3', 'NumberOfStudyRelatedInstances'],
    ]) {
      const err = status(() => query('study', search ?? ''));
      assert.equal(err.status, 400, search);
      assert.match(err.message ?? '', new RegExp(`"${name}"`));
    }
    assert.equal(status(() => query('study', 'Modality=CT')).status, 400);
  });

  it('caps limit at the maximum, with a warning saying so', () => {
    const q = query('instance', 'limit=999999');
    assert.equal(q.limit, MAX_LIMIT);
    assert.deepEqual(q.warnings, [
      `limit 999999 is over this server's maximum: at most ${MAX_LIMIT} results per response`,
    ]);
    assert.deepEqual(query('instance', `limit=${MAX_LIMIT}`).warnings, []);
  });
});
