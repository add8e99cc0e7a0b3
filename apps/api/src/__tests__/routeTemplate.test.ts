import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routeTemplate } from '../http/routeTemplate';

describe('routeTemplate', () => {
  it('keeps route names and replaces UIDs, numbers and other values', () => {
    assert.equal(
      routeTemplate(
        '/dicomweb/studies/1.2.840.1/series/2.25.7/instances/1.3/frames/1',
      ),
      '/dicomweb/studies/{uid}/series/{uid}/instances/{uid}/frames/{n}',
    );
    assert.equal(
      routeTemplate('/releases/rel_0123456789abcdef/files/dicom/a.dcm'),
      '/releases/{id}/files/{id}/{id}',
    );
    assert.equal(routeTemplate('/graphql'), '/graphql');
    assert.equal(routeTemplate('/'), '/');
  });

  it('drops the query string and never echoes a made-up segment', () => {
    const t = routeTemplate('/dicomweb/studies/DOE^JOHN?PatientName=DOE');
    assert.equal(t, '/dicomweb/studies/{id}');
  });
});
