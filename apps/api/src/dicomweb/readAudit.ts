import { typedTarget } from '@lpacs/access';
import type { Catalog } from '@lpacs/lake';
import { routeTemplate } from '../http/routeTemplate';
import { scopeClause } from './qidoQuery';

const UID = /^[0-9]+(\.[0-9]+)*$/;

/** How long repeated `ok` reads of one study by one caller make one entry. */
export const READ_WINDOW_MS = 10 * 60_000;

/** The StudyInstanceUID a `/dicomweb/studies/<uid>/...` path names, as typed. */
export function studyOfPath(pathname: string): string | undefined {
  const m = /^\/dicomweb\/studies\/([^/]+)/.exec(pathname);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1];
  }
}

/** True for a QIDO-RS search path (it answers 200 with what matched). */
export function isSearch(pathname: string): boolean {
  return /\/(studies|series|instances)\/?$/.test(pathname);
}

/**
 * Whether a collaborator's scope holds any instance of `study`.
 */
export async function studyInScope(
  catalog: Catalog,
  study: string,
  scope: readonly string[],
): Promise<boolean> {
  return (
    (
      await catalog.query(
        `SELECT 1 AS one FROM instances WHERE "StudyInstanceUID" = ? AND ${scopeClause(scope)} LIMIT 1`,
        [study],
      )
    ).length > 0
  );
}

/**
 * What a DICOMweb read's audit entry names: a study the lake holds by its
 * UID (the lake's own, never a patient's), anything else typed there (an
 * original UID pasted from a hospital system, a name) as typedTarget's
 * keyed digest.
 */
export async function readTarget(
  catalog: Catalog,
  lakeRoot: string,
  study: string,
): Promise<{ target: string; held: boolean }> {
  const held =
    UID.test(study) &&
    study.length <= 64 &&
    (
      await catalog.query(
        'SELECT 1 AS one FROM instances WHERE "StudyInstanceUID" = ? LIMIT 1',
        [study],
      )
    ).length > 0;
  return { target: held ? study : typedTarget(lakeRoot, study), held };
}

/** The outcome of an answered read, for Gate.settle. */
export interface ReadOutcome {
  outcome: 'ok' | 'denied' | 'failed';
  /** The error's code, for one not ok. */
  code?: string;
  detail: Record<string, string | number>;
}

/**
 * How a DICOMweb read ended, from its answer: `ok` for a 2xx sent whole;
 * for a collaborator, a read of a study the lake holds but none of whose
 * instances is in their releases is `denied` (answered 404, or an empty
 * search, as if it were not there); any other 404 is `failed` NOT_FOUND, other 4xx `failed` with
 * BAD_REQUEST or NOT_ACCEPTABLE, a 5xx or an answer cut off `failed`
 * INTERNAL or INCOMPLETE.
 */
export function readOutcome(
  pathname: string,
  status: number,
  complete: boolean,
  outsideScope: boolean,
): ReadOutcome {
  const detail = { route: routeTemplate(pathname), status };
  if (outsideScope && (status === 404 || (status >= 200 && status < 300)))
    return {
      outcome: 'denied',
      code: 'NOT_FOUND',
      detail: { ...detail, why: 'not in your releases' },
    };
  if (status >= 200 && status < 300)
    return complete
      ? { outcome: 'ok', detail }
      : { outcome: 'failed', code: 'INCOMPLETE', detail };
  const code =
    status === 404
      ? 'NOT_FOUND'
      : status === 406
        ? 'NOT_ACCEPTABLE'
        : status >= 500
          ? 'INTERNAL'
          : 'BAD_REQUEST';
  return { outcome: 'failed', code, detail };
}

/**
 * Remembers when each caller's `ok` reads of each study were last written,
 * so a viewer fetching a series frame by frame leaves one entry per study
 * and window rather than one per frame.
 */
export class RecentReads {
  readonly #written = new Map<string, number>();

  /** True when this read needs an entry (and notes that it has one). */
  fresh(actor: string, action: string, target: string, now = Date.now()) {
    const key = `${actor}\0${action}\0${target}`;
    const last = this.#written.get(key);
    if (last !== undefined && now - last < READ_WINDOW_MS) return false;
    if (this.#written.size > 10_000)
      for (const [k, t] of this.#written)
        if (now - t >= READ_WINDOW_MS) this.#written.delete(k);
    this.#written.set(key, now);
    return true;
  }
}
