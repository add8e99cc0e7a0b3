import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

  it('knows a repeating group only in the even groups 00-1E PS3.5 7.6 allows', () => {
    // PS3.5 7.6: "Repeating Groups shall only be allowed in the even
    // Groups (6000-601E,eeee) and even Groups (5000-501E,eeee)"; the
    // retired (7FXX,eeee) Variable Pixel Data is read with the same bound.
    // Every row of PS3.6 whose group is ggXX, tried in all 256 groups.
    const all = JSON.parse(
      readFileSync(
        join(REPO, 'packages', 'dicom', 'standard', 'attributes.json'),
        'utf8',
      ),
    ) as Array<{ tag: string; keyword: string }>;
    // Outside the range a tag is what its own row says, if it has one
    // ((7FE0,0010) PixelData); otherwise unknown.
    const exact = new Map(
      all
        .filter((r) => /^\([0-9A-F]{4},[0-9A-F]{4}\)$/.test(r.tag))
        .map((r) => [
          parseInt(r.tag.slice(1, 5) + r.tag.slice(6, 10), 16),
          r.keyword,
        ]),
    );
    const rows = all.filter((r) =>
      /^\([0-9A-F]{2}XX,[0-9A-F]{4}\)$/.test(r.tag),
    );
    assert.deepEqual([...new Set(rows.map((r) => r.tag.slice(1, 3)))].sort(), [
      '50',
      '60',
      '7F',
    ]);
    for (const r of rows) {
      const high = parseInt(r.tag.slice(1, 3), 16);
      const element = parseInt(r.tag.slice(6, 10), 16);
      for (let low = 0; low < 256; low++) {
        const tag = (((high << 8) | low) * 0x10000 + element) >>> 0;
        const inRange = low % 2 === 0 && low <= 0x1e;
        assert.equal(
          lookupTag(tag)?.[1],
          inRange ? r.keyword : exact.get(tag),
          `${r.tag} in group ${((high << 8) | low).toString(16)}`,
        );
      }
    }
    // The re-trial's three, by hand.
    assert.equal(lookupTag(0x60200022), undefined);
    assert.equal(lookupTag(0x60fe0022), undefined);
    assert.equal(lookupTag(0x60fe1500), undefined);
    assert.equal(lookupTag(0x601e0022)?.[1], 'OverlayDescription');
  });

  it('leaves the element-number wildcards of PS3.6 as written', () => {
    // (0028,04x0), (1000,xxx0), (1010,xxxx), (0020,31xx): the group is
    // fixed and the x digits of the element are free.
    assert.equal(lookupTag(0x002804f0)?.[1], 'RowsForNthOrderCoefficients');
    assert.equal(lookupTag(0x002804f4), undefined);
    assert.equal(lookupTag(0x1000fff0)?.[1], 'EscapeTriplet');
    assert.equal(lookupTag(0x1000fff6), undefined);
    assert.equal(lookupTag(0x1010abcd)?.[1], 'ZonalMap');
    assert.equal(lookupTag(0x002031ff)?.[1], 'SourceImageIDs');
  });
});
