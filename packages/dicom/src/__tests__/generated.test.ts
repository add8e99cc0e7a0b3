import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROFILE_RULES, lookupTag } from '../index';
import { REPO } from './fixtures';

describe('generated standard data', () => {
  it('is what the generator makes from the committed standard', () => {
    const script = join(
      REPO,
      'packages',
      'dicom',
      'scripts',
      'generate-standard.mjs',
    );
    const out = execFileSync('node', [script, '--check'], { encoding: 'utf8' });
    assert.match(out, /up to date/);
  });

  it('holds all 621 rows of Table E.1-1 (620 by tag and the private row)', () => {
    assert.equal(PROFILE_RULES.length, 620);
  });

  it('keys every rule by a tag that resolves to the same keyword in PS3.6', () => {
    for (const rule of PROFILE_RULES) {
      if (rule.mask !== 0xffffffff) continue;
      assert.equal(
        lookupTag(rule.value)?.[1],
        rule.keyword,
        `rule ${rule.name}`,
      );
    }
  });

  it('has the actions the standard gives for rows checked by hand', () => {
    const row = (tag: number) =>
      PROFILE_RULES.find((r) => r.value === tag && r.mask === 0xffffffff)!;
    assert.equal(row(0x00100010).basic, 'Z'); // Patient's Name
    assert.equal(row(0x00100020).basic, 'Z/D'); // Patient ID (Z/D since the 2024 editions)
    assert.equal(row(0x00080018).basic, 'U'); // SOP Instance UID
    assert.equal(row(0x00080020).basic, 'Z'); // Study Date
    assert.equal(row(0x00080020).options.rtnLongModifDatesOpt, 'C');
    assert.equal(row(0x00100040).options.rtnPatCharsOpt, 'K'); // Patient's Sex
    assert.equal(row(0x00081030).options.cleanDescOpt, 'C'); // Study Description
    assert.equal(row(0x00081030).basic, 'X');
  });
});
