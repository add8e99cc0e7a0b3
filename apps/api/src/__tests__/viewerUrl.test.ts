import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { viewerUrl } from '../http/viewerUrl';

describe('viewerUrl', () => {
  it('keeps an http(s) base URL and drops its trailing slashes', () => {
    assert.equal(
      viewerUrl('http://127.0.0.1:3000/ohif//'),
      'http://127.0.0.1:3000/ohif',
    );
    assert.equal(
      viewerUrl('https://ohif.example.org'),
      'https://ohif.example.org',
    );
  });

  it('refuses other schemes, queries and credentials, naming the value', () => {
    for (const bad of [
      'javascript:alert(1)',
      'ftp://ohif.example.org',
      'https://ohif.example.org/?a=1',
      'https://u:p@ohif.example.org',
      'ohif.example.org',
    ])
      assert.throws(
        () => viewerUrl(bad),
        new RegExp(bad.slice(0, 10).replace(/[?.()]/g, '\\$&')),
      );
  });
});
