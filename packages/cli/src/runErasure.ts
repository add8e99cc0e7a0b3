import { AuditLog, erasedSomething, recordErasure } from '@lpacs/access';
import { LinkageReader } from '@lpacs/api';
import { eraseSpooled, spooledOriginalsOf } from '@lpacs/dimse';
import {
  conflictVersionsOf,
  eraseQuarantined,
  quarantinedOriginalsOf,
} from '@lpacs/ingest';
import type { QuarantineErased } from '@lpacs/ingest';
import { Lake, addTombstones } from '@lpacs/lake';
import type { ErasurePlan, ErasureStep } from '@lpacs/lake';
import { JobStore } from '@lpacs/ml';
import { eraseFromSharing } from './eraseFromSharing';
import type { SharingErased } from './eraseFromSharing';
import { requireLake } from './requireLake';
import { peersSentTo } from './syncedPeers';
import type { SyncedPeer } from './syncedPeers';

/** An erasure asked for (`lpacs erase`, `lpacs retention --apply`). */
export interface ErasureRequest {
  /** The audit action: `erase.patient`, `erase.study`, `retention.apply`. */
  action: string;
  /**
   * The audit target: the pseudonym or the lake's StudyInstanceUID
   * erased (the lake's own keyed identifiers, never an original value),
   * or the cutoff.
   */
  target: string;
  reason: string;
  /** A condition over the `instances` table and its parameters. */
  where: { sql: string; params: Array<string | number> };
  /** A patient erased on request: their files are refused from now on. */
  tombstone: boolean;
  /** Named by the operator: erased (linkage, quarantine) even with no rows. */
  patients?: string[];
  studies?: string[];
  /** Audit detail of the request (counts and codes, never a value). */
  detail?: Record<string, string | number | boolean>;
  /**
   * `data`: refuse (erase nothing) when no instance, conflict version
   * or quarantined original matches, a typo'd or original identifier;
   * `none`: refuse when any does (a tombstone alone was asked for).
   */
  expect?: 'data' | 'none';
  /**
   * An earlier erasure removed the target: with `expect: 'data'` and
   * nothing of it left, prediction rows and masks still made from
   * instances no longer in the lake (see Lake.sweepLeftovers) are
   * erased instead of refusing.
   */
  erasedBefore?: boolean;
}

/** What an erasure refused for its `expect`: what matched. */
export interface ErasureRefused {
  instances: number;
  quarantined: number;
  /** Originals a stopped C-STORE SCP left in the lake's spool. */
  spooled: number;
  /** Conflict versions (kept by CONFLICT records) of the target. */
  conflicts: number;
}

/** What runErasure did: a left erasure finished, this one done or refused. */
export interface ErasureRun {
  finished?: ErasureDone;
  done?: ErasureDone;
  refused?: ErasureRefused;
}

/** What one run did to finish an erasure. */
export interface ErasureDone {
  plan: ErasurePlan;
  /** Finished from the plan a killed process left. */
  resumed: boolean;
  objectsDeleted: number;
  /** Objects of the plan that were gone already (a resumed erasure). */
  objectsAbsent: number;
  /**
   * Objects no row or quarantine record named, swept once the rows were
   * gone: what a writer killed before its commit stored (an SCP's batch,
   * written ahead of its rows), the erased patient's among them.
   */
  orphans: number;
  /**
   * Prediction rows, and mask files, made from instances no longer in
   * the lake (a job that committed after an erasure), swept.
   */
  leftovers: { predictions: number; masks: number };
  /**
   * Prediction jobs whose files named erased instances, and the inputs
   * taken out of them (redacted in place in an unfinished job's list).
   */
  jobs: { jobs: number; inputs: number };
  /** Linkage records removed, accession links taken out of the others. */
  linkage: { records: number; accessionLinks: number };
  quarantine: QuarantineErased;
  /** Originals of the erased patients or studies a stopped SCP spooled. */
  spooled: number;
  tombstones: number;
  sharing: SharingErased;
  /**
   * Peer lakes `lpacs sync` sent a cohort or release this run changed:
   * they may hold copies, which only an erasure there removes.
   */
  peers: SyncedPeer[];
}

/**
 * Runs every step of an erasure the plan has not done, marking each done
 * in the plan; deletes the plan when all are. Tables first, objects only
 * once no row names them. Audited with what this run did. Sharing failures
 * leave the plan (and the step) for a rerun.
 */
async function complete(
  lake: Lake,
  plan: ErasurePlan,
  operator: string,
  resumed: boolean,
  detail: ErasureRequest['detail'] = {},
): Promise<ErasureDone> {
  const done: ErasureDone = {
    plan,
    resumed,
    objectsDeleted: 0,
    objectsAbsent: 0,
    orphans: 0,
    leftovers: { predictions: 0, masks: 0 },
    jobs: { jobs: 0, inputs: 0 },
    linkage: { records: 0, accessionLinks: 0 },
    quarantine: { originals: 0, conflicts: 0 },
    spooled: 0,
    tombstones: 0,
    sharing: { releasesRevoked: [], cohortsChanged: [], failed: [] },
    peers: [],
  };
  const step = async (name: ErasureStep, run: () => Promise<unknown>) => {
    if (plan.done.includes(name)) return;
    if ((await run()) !== false) await lake.erasureStepDone(plan, name);
  };
  await step('tables', () => lake.eraseRows(plan));
  await step('objects', async () => {
    const r = await lake.eraseObjects(plan);
    done.objectsDeleted = r.deleted;
    done.objectsAbsent = r.absent;
  });
  // After the rows: an object no row names is one no commit made
  // (sweepObjects), so nothing written for the erased patient by a
  // writer killed before it committed stays, whoever's else goes too.
  await step('orphans', async () => {
    done.orphans = (await lake.sweepObjects()).removed;
  });
  // Likewise a prediction row or mask of an instance gone before now,
  // whoever's it was: erased data.
  await step('leftovers', async () => {
    done.leftovers = await lake.sweepLeftovers();
  });
  // Job files list their inputs' UIDs and object keys, and name failed
  // ones: an unfinished job keeps each erased input's place (its
  // progress is an index into the list), as a redacted entry it counts
  // as failed when it resumes.
  await step('jobs', async () => {
    done.jobs = await new JobStore(lake.root).forgetErased({
      ...plan,
      objects: [...plan.objects, ...(plan.conflicts ?? [])],
    });
  });
  await step('linkage', async () => {
    done.linkage = new LinkageReader(lake.root).forgetErased(plan);
  });
  await step('quarantine', async () => {
    done.quarantine = await eraseQuarantined(lake, plan);
  });
  // The lake is held alone: no SCP is running, so every spool is a
  // stopped one's, which the next serve --dimse-port would ingest.
  await step('spool', async () => {
    done.spooled = await eraseSpooled(lake, plan);
  });
  await step('tombstone', async () => {
    if (plan.tombstone)
      done.tombstones = await addTombstones(lake.root, plan.patients, {
        at: plan.begun,
        kind: plan.action,
      });
  });
  await step('sharing', async () => {
    done.sharing = await eraseFromSharing(
      lake.root,
      { ...plan, objects: plan.objects.length },
      operator,
    );
    return done.sharing.failed.length === 0;
  });
  done.peers = peersSentTo(lake.root, {
    cohorts: done.sharing.cohortsChanged,
    releases: done.sharing.releasesRevoked,
  });
  const entry = await new AuditLog(lake.root).append({
    actor: operator,
    action: plan.action,
    target: plan.target,
    outcome: 'ok',
    detail: {
      reason: plan.reason.slice(0, 200),
      ...detail,
      ...(resumed ? { resumed: true, begun: plan.begun } : {}),
      instances: plan.instances.length,
      studies: plan.studies.length,
      objects: done.objectsDeleted,
      orphansSwept: done.orphans,
      leftoverPredictions: done.leftovers.predictions,
      leftoverMasks: done.leftovers.masks,
      jobs: done.jobs.jobs,
      jobInputs: done.jobs.inputs,
      linkageRecords: done.linkage.records,
      accessionLinks: done.linkage.accessionLinks,
      quarantined: done.quarantine.originals,
      conflicts: done.quarantine.conflicts,
      spooled: done.spooled,
      tombstones: done.tombstones,
      releasesRevoked: done.sharing.releasesRevoked.length,
      cohortsChanged: done.sharing.cohortsChanged.length,
      ...(done.peers.length
        ? { syncedTo: done.peers.map((p) => p.to).join(', ') }
        : {}),
      ...(done.sharing.failed.length
        ? { sharingNotUpdated: done.sharing.failed.join(', ') }
        : {}),
    },
  });
  // Snapshots begun before now may hold what it removed: lpacs status
  // says so, and lpacs backup prune --before-erasures deletes them.
  if (erasedSomething(entry.detail))
    await recordErasure(lake.root, { at: entry.at, action: plan.action });
  if (!done.sharing.failed.length) await lake.endErasure();
  return done;
}

/**
 * Erases what a request selects from the lake, with everything derived
 * from it: rows of every table, objects, masks, linkage, quarantined
 * originals, releases and saved cohorts, and for a patient erased on
 * request a tombstone. The plan is written before anything is removed
 * (see ErasurePlan), so a process killed at any point leaves it, and the
 * next run, of any erasure or `lpacs erase --resume`, finishes it first:
 * `finished` says what that run did. Without a request only that is done.
 */
export async function runErasure(
  root: string,
  request: ErasureRequest | undefined,
  operator: string,
): Promise<ErasureRun> {
  // Lake.open would make a lake of a typo'd --lake, and report it erased.
  await requireLake(root);
  const lake = await Lake.open(root);
  try {
    const pending = await lake.pendingErasure();
    const finished = pending
      ? await complete(lake, pending, operator, true)
      : undefined;
    if (!request || finished?.sharing.failed.length) return { finished };
    const plan = await lake.planErasure(request.where, {
      action: request.action,
      target: request.target,
      reason: request.reason,
      tombstone: request.tombstone,
    });
    // The rerun of the command a killed process ran: it is done.
    if (
      finished &&
      !plan.instances.length &&
      finished.plan.action === request.action &&
      finished.plan.target === request.target
    )
      return { finished };
    const union = (a: string[], b: string[] = []) => [...new Set([...a, ...b])];
    plan.patients = union(plan.patients, request.patients);
    plan.studies = union(plan.studies, request.studies);
    // In the plan before any is deleted: once gone, a version can no
    // longer be read to tell whose it was.
    plan.conflicts = await conflictVersionsOf(lake, plan);
    if (request.expect) {
      // Originals are parsed only when no row matched.
      const none = plan.instances.length === 0;
      const quarantined = none
        ? (await quarantinedOriginalsOf(lake, plan)).length
        : 0;
      const spooled = none ? (await spooledOriginalsOf(lake, plan)).length : 0;
      const conflicts = plan.conflicts.length;
      const any = plan.instances.length + quarantined + spooled + conflicts > 0;
      // Found erased, yet something made from erased instances is left.
      const leftovers =
        !any && request.expect === 'data' && request.erasedBefore
          ? await lake.leftoverPredictions()
          : 0;
      if (!leftovers && any !== (request.expect === 'data'))
        return {
          finished,
          refused: {
            instances: plan.instances.length,
            quarantined,
            spooled,
            conflicts,
          },
        };
    }
    await lake.beginErasure(plan);
    return {
      finished,
      done: await complete(lake, plan, operator, false, request.detail),
    };
  } finally {
    lake.close();
  }
}
