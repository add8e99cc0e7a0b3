import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  negotiate,
  negotiateDicomJson,
  negotiateMultipart,
} from '../dicomweb/negotiate';

const RLE = '1.2.840.10008.1.2.5';

function status(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { status?: number }).status;
  }
  return undefined;
}

describe('content negotiation', () => {
  it('picks the offer the client prefers by q value, JPEG for */*', () => {
    assert.equal(
      negotiate('image/jpeg;q=0.5, image/png', ['image/jpeg', 'image/png']),
      'image/png',
    );
    assert.equal(negotiate('*/*', ['image/jpeg', 'image/png']), 'image/jpeg');
    assert.equal(negotiate(undefined, ['image/jpeg']), 'image/jpeg');
    assert.equal(negotiate('image/*;q=0.2', ['image/png']), 'image/png');
    assert.equal(
      status(() => negotiate('image/gif', ['image/png'])),
      406,
    );
    assert.equal(
      status(() => negotiate('image/png;q=0', ['image/png'])),
      406,
    );
    assert.equal(
      status(() => negotiate('image/png;q=2', ['image/png'])),
      400,
    );
  });

  it('accepts multipart DICOM in the stored syntax or any, refuses another', () => {
    const part = 'application/dicom';
    assert.ok(
      negotiateMultipart(`multipart/related; type="${part}"`, part, [RLE]),
    );
    assert.ok(
      negotiateMultipart(
        `multipart/related; type="${part}"; transfer-syntax=*`,
        part,
        [RLE],
      ),
    );
    assert.ok(
      negotiateMultipart(
        `multipart/related; type=${part}; transfer-syntax=${RLE}`,
        part,
        [RLE],
      ),
    );
    const other = `multipart/related; type="${part}"; transfer-syntax=1.2.840.10008.1.2.1`;
    assert.equal(
      status(() => negotiateMultipart(other, part, [RLE])),
      406,
    );
    assert.equal(
      status(() =>
        negotiateMultipart('multipart/related; type="image/jpeg"', part, [RLE]),
      ),
      406,
    );
  });

  it('allows one bare octet-stream frame only when asked for it', () => {
    const octets = 'application/octet-stream';
    assert.equal(
      negotiateMultipart(octets, octets, ['1.2.840.10008.1.2.1'], true),
      false,
    );
    assert.equal(
      status(() => negotiateMultipart(octets, octets, ['1.2.840.10008.1.2.1'])),
      406,
    );
  });

  it('lets the most specific range decide, so q=0 refuses what */* takes (RFC 9110 12.5.1)', () => {
    assert.equal(
      status(() => negotiate('*/*, image/png;q=0', ['image/png'])),
      406,
    );
    assert.equal(
      negotiate('image/*;q=0, image/png', ['image/jpeg', 'image/png']),
      'image/png',
    );
    assert.equal(
      negotiate('image/png;q=0.1, */*;q=0.5', ['image/png', 'image/jpeg']),
      'image/jpeg',
    );
    const part = 'application/dicom';
    assert.equal(
      status(() =>
        negotiateMultipart(
          `multipart/related; type="${part}"; q=0, */*`,
          part,
          [RLE],
        ),
      ),
      406,
    );
  });

  it('answers DICOM JSON as dicom+json or json, never for XML alone', () => {
    assert.equal(negotiateDicomJson(undefined), 'application/dicom+json');
    assert.equal(negotiateDicomJson('*/*'), 'application/dicom+json');
    assert.equal(negotiateDicomJson('application/json'), 'application/json');
    assert.equal(
      negotiateDicomJson('application/dicom+json; q=0, */*'),
      'application/json',
    );
    for (const accept of [
      'multipart/related; type="application/dicom+xml"',
      'application/dicom+xml',
      'application/dicom+json;q=0, application/json;q=0, */*',
    ])
      assert.equal(
        status(() => negotiateDicomJson(accept)),
        406,
        accept,
      );
  });
});
