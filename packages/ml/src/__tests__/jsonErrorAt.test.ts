import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonErrorAt } from '../jsonErrorAt';

describe('jsonErrorAt', () => {
  it('finds nothing wrong in valid JSON, however deep', () => {
    for (const text of [
      '{}',
      ' [1, -0.5e+3, "a\\u00e9\\n", true, false, null, {"k": []}] ',
      '"x"',
      '0',
      '['.repeat(100000) + ']'.repeat(100000),
    ]) {
      JSON.parse(text);
      assert.equal(jsonErrorAt(text), undefined, text.slice(0, 40));
    }
  });

  // Each place counted by hand: line 1-based, column 1-based.
  const broken: Array<[string, number, number]> = [
    ['root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1', 1, 1],
    ['{"a": 1,}', 1, 9],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3],
    ['[1, 2', 1, 6],
    ['{"a" 1}', 1, 6],
    ['{"a": tru}', 1, 7],
    ['{"a": 01}', 1, 8],
    ['{"a": "x\ty"}', 1, 9],
    ['{"a": "\\q"}', 1, 9],
    ['{"a": 1} x', 1, 10],
    ['', 1, 1],
    ['{\n"patients": 3,\n"datasets/x.mjs"\n}', 4, 1],
  ];
  for (const [text, line, column] of broken)
    it(`places the mistake in ${JSON.stringify(text).slice(0, 30)} at ${line}:${column}`, () => {
      assert.throws(() => JSON.parse(text));
      assert.deepEqual(jsonErrorAt(text), { line, column });
    });
});
