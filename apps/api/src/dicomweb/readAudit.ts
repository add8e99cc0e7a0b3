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

/** The three UIDs a read can name, and their columns in `instances`. */
export type UidLevel = 'study' | 'series' | 'instance';
const COLUMN: Record<UidLevel, string> = {
  study: '"StudyInstanceUID"',
  series: '"SeriesInstanceUID"',
  instance: '"SOPInstanceUID"',
};
/** QIDO-RS matching keys naming a UID, by keyword or tag (any case). */
const UID_KEYS: Record<string, UidLevel> = {
  studyinstanceuid: 'study',
  '0020000d': 'study',
  seriesinstanceuid: 'series',
  '0020000e': 'series',
  sopinstanceuid: 'instance',
  '00080018': 'instance',
};

/** A UID a read names, as typed: in its path or its query. */
export interface NamedUid {
  level: UidLevel;
  uid: string;
}

/**
 * What a DICOMweb read is about: the study its path names
 * (`/studies/<uid>/...`), or else, for a search, each UID its query
 * matches on (StudyInstanceUID, SeriesInstanceUID or SOPInstanceUID, by
 * keyword or tag, each value of a list), once each.
 */
export function namedUids(url: URL): NamedUid[] {
  const study = studyOfPath(url.pathname);
  if (study !== undefined) return [{ level: 'study', uid: study }];
  if (!isSearch(url.pathname)) return [];
  const out = new Map<string, NamedUid>();
  for (const [name, value] of url.searchParams) {
    const level = UID_KEYS[name.toLowerCase()];
    if (!level) continue;
    for (const uid of value.split(/[,\\]/).map((v) => v.trim()))
      if (uid) out.set(`${level}\0${uid}`, { level, uid });
  }
  return [...out.values()];
}

/**
 * Whether a collaborator's scope holds any instance of the study, series
 * or instance `uid`.
 */
export async function uidInScope(
  catalog: Catalog,
  named: NamedUid,
  scope: readonly string[],
): Promise<boolean> {
  return (
    (
      await catalog.query(
        `SELECT 1 AS one FROM instances WHERE ${COLUMN[named.level]} = ? AND ${scopeClause(scope)} LIMIT 1`,
        [named.uid],
      )
    ).length > 0
  );
}

/** What a read's audit entry names, for one UID it was about. */
export interface ReadTarget {
  /** The lake's study UID, or typedTarget's digest of what was typed. */
  target: string;
  /** Whether the lake holds the UID named. */
  held: boolean;
  named: NamedUid;
}

/**
 * What a DICOMweb read's audit entry names: the study a UID the lake holds
 * belongs to, by its UID (the lake's own, never a patient's; for a series
 * or an instance, the study that holds it, so that an auditor asking who
 * read a study finds searches by series and instance too), anything else
 * typed there (an original UID pasted from a hospital system, a name) as
 * typedTarget's keyed digest.
 */
export async function readTarget(
  catalog: Catalog,
  lakeRoot: string,
  named: NamedUid,
): Promise<ReadTarget> {
  const rows =
    UID.test(named.uid) && named.uid.length <= 64
      ? await catalog.query(
          `SELECT "StudyInstanceUID" AS study FROM instances WHERE ${COLUMN[named.level]} = ? LIMIT 1`,
          [named.uid],
        )
      : [];
  const study = rows[0]?.study;
  return typeof study === 'string'
    ? { target: study, held: true, named }
    : { target: typedTarget(lakeRoot, named.uid), held: false, named };
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
 * search, as if it were not there: NOT_FOUND only for the 404); any other
 * 404 is `failed` NOT_FOUND, other 4xx `failed` with
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
  // A 404 is the error the caller was given; an empty search answered
  // 200 had none, so its entry names none either.
  if (outsideScope && (status === 404 || (status >= 200 && status < 300)))
    return {
      outcome: 'denied',
      ...(status === 404 ? { code: 'NOT_FOUND' } : {}),
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
