import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AccessError, AccessErrorCode, JsonDocument } from '@lpacs/access';
import { readObject, writeLakeFile } from '@lpacs/lake';
import { redactIdentifiers } from './redactIdentifiers';
import type {
  FrozenInstance,
  SavedCohort,
  ShareRequest,
  ShareStatus,
} from './types';

interface Doc {
  cohorts: SavedCohort[];
  shares: ShareRequest[];
}

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

function notFound(what: string, id: string): AccessError {
  return new AccessError(AccessErrorCode.NotFound, `no ${what} "${id}"`);
}

/**
 * Saved cohorts and share requests, `<lake>/state/sharing.json`; each
 * cohort's frozen instance list in `state/cohorts/<id>.json`, written when
 * saved and again only by an erasure (removeErased).
 * State changes follow the workflow: pending -> approved | denied, and
 * approved -> revoked; nothing else.
 */
export class SharingStore {
  readonly #root: string;
  readonly #doc: JsonDocument<Doc>;

  constructor(lakeRoot: string) {
    this.#root = lakeRoot;
    this.#doc = new JsonDocument<Doc>(
      lakeRoot,
      join(lakeRoot, 'state', 'sharing.json'),
      () => ({ cohorts: [], shares: [] }),
    );
  }

  #instancesKey(cohortId: string): string {
    return join('state', 'cohorts', `${cohortId}.json`);
  }

  /** Freezes a cohort: its query, counts, lake version and exact instances. */
  async saveCohort(
    c: Omit<SavedCohort, 'id' | 'createdAt'>,
    instances: FrozenInstance[],
  ): Promise<SavedCohort> {
    const cohort: SavedCohort = {
      ...c,
      id: newId('co'),
      createdAt: new Date().toISOString(),
    };
    // The list lands first: a cohort is never listed without its instances.
    await writeLakeFile(
      this.#root,
      this.#instancesKey(cohort.id),
      JSON.stringify(instances),
    );
    await this.#doc.update((doc) => {
      doc.cohorts.push(cohort);
    });
    return cohort;
  }

  cohorts(): SavedCohort[] {
    return this.#doc.read().cohorts;
  }

  cohort(id: string): SavedCohort {
    const c = this.cohorts().find((x) => x.id === id);
    if (!c) throw notFound('saved cohort', id);
    return c;
  }

  async cohortInstances(id: string): Promise<FrozenInstance[]> {
    this.cohort(id);
    return JSON.parse(
      (await readObject(this.#root, this.#instancesKey(id))).toString('utf8'),
    ) as FrozenInstance[];
  }

  async requestShare(
    r: Pick<
      ShareRequest,
      'cohortId' | 'requester' | 'collaborator' | 'purpose' | 'expiresAt'
    >,
  ): Promise<ShareRequest> {
    this.cohort(r.cohortId);
    const share: ShareRequest = {
      ...r,
      id: newId('sh'),
      status: 'pending',
      requestedAt: new Date().toISOString(),
    };
    await this.#doc.update((doc) => {
      doc.shares.push(share);
    });
    return share;
  }

  shares(): ShareRequest[] {
    return this.#doc.read().shares;
  }

  share(id: string): ShareRequest {
    const s = this.shares().find((x) => x.id === id);
    if (!s) throw notFound('share request', id);
    return s;
  }

  /**
   * Revokes every approved share whose release holds any of `instances`
   * (their data was erased), noting why. Returns the share ids flagged.
   */
  async flagErased(
    instancesOf: (releaseId: string) => Promise<string[]>,
    instances: string[],
    by: string,
  ): Promise<string[]> {
    const erased = new Set(instances);
    const hit: string[] = [];
    for (const s of this.shares())
      if (
        s.releaseId &&
        (await instancesOf(s.releaseId)).some((sop) => erased.has(sop))
      )
        hit.push(s.id);
    if (!hit.length) return hit;
    await this.#doc.update((doc) => {
      for (const s of doc.shares) {
        if (!hit.includes(s.id)) continue;
        s.erasedData = true;
        if (s.status === 'approved') {
          s.status = 'revoked';
          s.reason = 'holds data erased on request';
          s.decidedBy = by;
          s.decidedAt = new Date().toISOString();
        }
      }
    });
    return hit;
  }

  /**
   * Takes erased instances out of every saved cohort's frozen list: each
   * list that held any is written again without them, its cohort gets
   * the counts `recount` makes of what is left and notes how many were
   * erased. Every cohort name and filter and every share's text loses the
   * identifiers of `erasure.identifiers` (see redactIdentifiers). A share
   * still pending stays so: its approval releases what is left. Returns
   * the ids of the cohorts whose lists changed.
   */
  async removeErased(
    erasure: {
      /** SOP Instance UIDs erased. */
      instances: string[];
      /** PatientIDs and UIDs with no data left in the lake. */
      identifiers: string[];
    },
    recount: (left: FrozenInstance[]) => Promise<SavedCohort['counts']>,
  ): Promise<string[]> {
    const erased = new Set(erasure.instances);
    const changed = new Map<
      string,
      { removed: number; counts: SavedCohort['counts'] }
    >();
    for (const c of this.cohorts()) {
      const list = await this.cohortInstances(c.id);
      const left = list.filter((i) => !erased.has(i.SOPInstanceUID));
      if (left.length === list.length) continue;
      changed.set(c.id, {
        removed: list.length - left.length,
        counts: await recount(left),
      });
      await writeLakeFile(
        this.#root,
        this.#instancesKey(c.id),
        JSON.stringify(left),
      );
    }
    const gone = new Set(erasure.identifiers);
    const named = (t: string | undefined) =>
      t !== undefined && redactIdentifiers(t, gone) !== t;
    if (
      !changed.size &&
      !this.cohorts().some((c) => named(c.name) || named(c.filter)) &&
      !this.shares().some((s) => named(s.purpose) || named(s.reason))
    )
      return [];
    const at = new Date().toISOString();
    await this.#doc.update((doc) => {
      for (const c of doc.cohorts) {
        c.name = redactIdentifiers(c.name, gone);
        c.filter = redactIdentifiers(c.filter, gone);
        const change = changed.get(c.id);
        if (!change) continue;
        c.counts = change.counts;
        c.erased = {
          instances: (c.erased?.instances ?? 0) + change.removed,
          at,
        };
      }
      for (const s of doc.shares) {
        s.purpose = redactIdentifiers(s.purpose, gone);
        if (s.reason) s.reason = redactIdentifiers(s.reason, gone);
      }
    });
    return [...changed.keys()];
  }

  /**
   * Moves a share from one state to the next, applying `fields`.
   * @throws AccessError BAD_USER_INPUT when the share is not in `from`.
   */
  async transition(
    id: string,
    from: ShareStatus,
    to: ShareStatus,
    fields: Partial<ShareRequest>,
  ): Promise<ShareRequest> {
    return this.#doc.update((doc) => {
      const s = doc.shares.find((x) => x.id === id);
      if (!s) throw notFound('share request', id);
      if (s.status !== from)
        throw new AccessError(
          AccessErrorCode.BadInput,
          `share ${id} is ${s.status}, so it cannot become ${to}`,
        );
      Object.assign(s, fields, { status: to });
      return { ...s };
    });
  }
}
