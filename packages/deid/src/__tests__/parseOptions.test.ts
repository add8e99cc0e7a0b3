import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RESEARCH_DEFAULT, parseOptions } from '../index';

describe('parseOptions', () => {
  it('fills what is missing with the research default', () => {
    assert.deepEqual(parseOptions(undefined), RESEARCH_DEFAULT);
    assert.deepEqual(parseOptions({ retainDeviceIdentity: true }), {
      ...RESEARCH_DEFAULT,
      retainDeviceIdentity: true,
    });
  });

  it('names unknown keys and bad values', () => {
    assert.throws(
      () => parseOptions({ retainEverything: true }),
      /unknown de-identification option "retainEverything"/,
    );
    assert.throws(
      () => parseOptions({ longitudinal: 'sometimes' }),
      /longitudinal must be "off", "full" or "modified", got "sometimes"/,
    );
    assert.throws(
      () => parseOptions({ cleanDescriptors: 'yes' }),
      /cleanDescriptors must be true or false, got "yes"/,
    );
    assert.throws(() => parseOptions([]), /must be an object/);
  });

  it('reads acceptUnmarked, a list of kinds, and refuses any other kind', () => {
    assert.deepEqual(parseOptions({}).acceptUnmarked, []);
    assert.deepEqual(
      parseOptions({ acceptUnmarked: ['secondary-capture'] }).acceptUnmarked,
      ['secondary-capture'],
    );
    assert.deepEqual(
      parseOptions({
        acceptUnmarked: ['secondary-capture', 'recognizable-visual-features'],
      }).acceptUnmarked,
      ['recognizable-visual-features', 'secondary-capture'],
    );
    assert.throws(
      () => parseOptions({ acceptUnmarked: ['ultrasound'] }),
      /acceptUnmarked must be a list of "recognizable-visual-features", "secondary-capture"; got "ultrasound"/,
    );
    assert.throws(
      () => parseOptions({ acceptUnmarked: 'secondary-capture' }),
      /acceptUnmarked must be a list of "recognizable-visual-features", "secondary-capture"; got "secondary-capture"/,
    );
  });

  it('accepts the options lpacs now honours', () => {
    const o = parseOptions({
      retainSafePrivate: true,
      cleanStructuredContent: true,
      cleanGraphics: true,
    });
    assert.equal(o.retainSafePrivate, true);
    assert.equal(o.cleanStructuredContent, true);
    assert.equal(o.cleanGraphics, true);
    assert.deepEqual(o.blanking, []);
  });
});
