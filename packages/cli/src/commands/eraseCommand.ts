import { AuditLog } from '@lpacs/access';
import { readTombstones } from '@lpacs/lake';
import { cliActor } from '../cliActor';
import { erasureTarget, hashed } from '../erasureTarget';
import type { EraseFlags } from '../erasureTarget';
import { counted } from '../format';
import type { Options } from '../options';
import { erasureLine, erasureReport, printErasure } from '../printErasure';
import { replayErasures } from '../replayErasures';
import { requireLake } from '../requireLake';
import { runErasure } from '../runErasure';
import type { ErasureRefused, ErasureRequest } from '../runErasure';

const USAGE = `usage: lpacs erase TARGET --reason "why" [--tombstone-only] [--lake DIR]
  TARGET: --patient PSEUDONYM | --study LAKE_STUDY_UID
        | --original-patient-id ID [--issuer ISSUER] | --original-study-uid UID
       lpacs erase resume [--lake DIR]   finish an erasure that was interrupted
       lpacs erase --replay-from LIVE_LAKE --lake RESTORED
                                          erase again what LIVE_LAKE erased
`;

/** Flags of `lpacs erase`. */
export interface EraseCommandFlags extends EraseFlags {
  reason?: string | undefined;
  resume?: boolean;
  /** Tombstone a patient who has no data here (yet). */
  tombstoneOnly?: boolean | undefined;
  replayFrom?: string | undefined;
}

/** When an earlier erasure of the same target removed everything. */
async function erasedOn(
  root: string,
  request: Omit<ErasureRequest, 'reason'>,
): Promise<string | undefined> {
  if (request.action === 'erase.patient')
    return (await readTombstones(root)).get(request.target)?.at;
  return new AuditLog(root)
    .query({ action: request.action })
    .find((e) => e.target === request.target && e.outcome === 'ok')?.at;
}

/** Why nothing was erased, in words that never repeat an original value. */
function nothingMatched(
  lake: string,
  request: Omit<ErasureRequest, 'reason'>,
  byOriginal: boolean,
): string {
  const none = 'no instance and no quarantined original';
  if (request.action === 'erase.patient') {
    const who = byOriginal
      ? `the patient with that --original-patient-id (pseudonym ${request.target})`
      : `patient ${request.target}`;
    const issuer = byOriginal
      ? ' Check --issuer: it must be the IssuerOfPatientID the files carry, none if they carry none.'
      : '';
    return `${none} of ${who} in ${lake}; nothing erased.${issuer} To refuse their files from now on all the same (consent withdrawn before any data arrived), add --tombstone-only`;
  }
  if (byOriginal)
    return `${none} of the study with that --original-study-uid in ${lake}; nothing erased`;
  // Many vendors' UIDs are 2.25. and digits too: the form tells nothing.
  return `${none} of the study with the StudyInstanceUID given in ${lake}; nothing erased. The lake's StudyInstanceUIDs are de-identified: for the UID the site sent, give --original-study-uid UID instead`;
}

/**
 * Audits a refused erasure. The target is in clear only when it names
 * what the lake holds, or was computed with the site secret: a value
 * typed as is that matched nothing may be the site's original (a vendor
 * StudyInstanceUID is 2.25. and digits as often as a lake's), so it is
 * written as a hash.
 */
async function auditRefused(
  lake: string,
  request: Omit<ErasureRequest, 'reason'>,
  reason: string,
  refused: ErasureRefused,
  why: 'has data' | 'nothing matched',
  byOriginal: boolean,
): Promise<void> {
  const found = why === 'has data' || byOriginal;
  await new AuditLog(lake).append({
    actor: cliActor(),
    action: request.action,
    target:
      found || request.target.startsWith('sha256:')
        ? request.target
        : hashed(request.target),
    outcome: 'failed',
    detail: { reason: reason.slice(0, 200), why, ...refused },
  });
}

/** `lpacs erase --replay-from LIVE --lake RESTORED`: see replayErasures. */
async function replay(opts: Options, from: string): Promise<number> {
  const r = await replayErasures(opts.lake, from, cliActor());
  const did = r.replayed.filter((x) => x.done);
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          from,
          tombstones: r.tombstones,
          unmatched: r.unmatched,
          notReplayed: r.notReplayed,
          replayed: r.replayed.map((x) => ({
            seq: x.seq,
            action: x.action,
            target: x.target,
            ...(x.done ? erasureReport(x.done) : { instances: 0 }),
          })),
        },
        null,
        2,
      )}\n`,
    );
  } else {
    for (const x of r.replayed) {
      if (x.finishedFirst) process.stdout.write(erasureLine(x.finishedFirst));
      if (x.done)
        process.stdout.write(`${x.action} ${x.target}: ${erasureLine(x.done)}`);
    }
    for (const x of r.notReplayed)
      process.stderr.write(
        `lpacs erase: not replayed: ${x.action} ${x.target} (audit entry ${x.seq} of ${from}): ${x.why}\n`,
      );
    process.stdout.write(
      `replayed ${counted(r.replayed.length, 'erasure')} of ${from}: ${did.length} erased data here, ${r.replayed.length - did.length} found nothing left; ${counted(r.tombstones, 'tombstone')} copied${r.unmatched ? `; ${counted(r.unmatched, 'erase.study entry', 'erase.study entries')} name${r.unmatched === 1 ? 's' : ''} by a hash a study not here (nothing of it to erase)` : ''}${r.notReplayed.length ? `; ${r.notReplayed.length} not replayed (said above): this lake may still hold what ${r.notReplayed.length === 1 ? 'it' : 'they'} erased` : ''}\n`,
    );
  }
  // What could not be replayed may still be here: not a success.
  return r.notReplayed.length ? 1 : 0;
}

/**
 * `lpacs erase TARGET --reason TEXT`: a patient (withdrawn consent) or a
 * study, named by the lake's identifier or by the site's original, whose
 * pseudonym is computed (see erasureTarget), leaves every table, object,
 * linkage record, quarantine entry, release and saved cohort (see
 * runErasure); a patient is tombstoned. A target with nothing here is
 * refused (exit 1), unless already erased, or, for a patient, with
 * `--tombstone-only`. Audited with who and why and the lake's
 * identifier. `resume` finishes an interrupted erasure; `--replay-from`
 * erases again what another lake erased (see replayErasures).
 */
export async function eraseCommand(
  opts: Options,
  flags: EraseCommandFlags,
): Promise<number> {
  const operator = cliActor();
  if (flags.resume)
    return printErasure(opts, await runErasure(opts.lake, undefined, operator));
  if (flags.replayFrom !== undefined) return replay(opts, flags.replayFrom);
  const reason = flags.reason?.trim() ?? '';
  if (!reason) {
    process.stderr.write(`lpacs erase: --reason is required\n${USAGE}`);
    return 2;
  }
  await requireLake(opts.lake);
  const target = await erasureTarget(opts.lake, flags);
  if (!target.ok) {
    process.stderr.write(`lpacs erase: ${target.problem}\n${USAGE}`);
    return 2;
  }
  const { request, byOriginal } = target;
  if (flags.tombstoneOnly && request.action !== 'erase.patient') {
    process.stderr.write(`lpacs erase: --tombstone-only is for a patient\n`);
    return 2;
  }
  const before = await erasedOn(opts.lake, request);
  const expect = flags.tombstoneOnly && !before ? 'none' : 'data';
  const r = await runErasure(
    opts.lake,
    {
      ...request,
      reason,
      expect,
      ...(before ? { erasedBefore: true } : {}),
      ...(byOriginal ? { detail: { by: 'original identifier' } } : {}),
    },
    operator,
  );
  const tombstoned = !r.refused && expect === 'none' && r.done;
  if (tombstoned && !opts.json && !tombstoned.sharing.failed.length) {
    const code = r.finished ? printErasure(opts, { finished: r.finished }) : 0;
    process.stdout.write(
      `${request.target}: no data here; tombstoned: their files are refused if sent again\n`,
    );
    return code;
  }
  if (!r.refused) return printErasure(opts, r);
  if (r.finished) printErasure(opts, { finished: r.finished });
  if (expect === 'none') {
    const { instances, quarantined, spooled, conflicts } = r.refused;
    await auditRefused(
      opts.lake,
      request,
      reason,
      r.refused,
      'has data',
      byOriginal,
    );
    const versions = conflicts
      ? `, ${counted(conflicts, 'conflict version')}`
      : '';
    const waiting = spooled
      ? `, ${counted(spooled, 'spooled original')} (sent to a C-STORE SCP that stopped)`
      : '';
    process.stderr.write(
      `lpacs erase: patient ${request.target} has ${counted(instances, 'instance')}${versions}${waiting} and ${counted(quarantined, 'quarantined original')} here; --tombstone-only erases nothing: rerun without it to erase them and tombstone the patient\n`,
    );
    return 1;
  }
  if (before) {
    process.stdout.write(
      opts.json
        ? `${JSON.stringify({ action: request.action, instances: 0, alreadyErased: before })}\n`
        : `${request.target}: already erased on ${before.slice(0, 10)}; nothing left\n`,
    );
    return 0;
  }
  await auditRefused(
    opts.lake,
    request,
    reason,
    r.refused,
    'nothing matched',
    byOriginal,
  );
  process.stderr.write(
    `lpacs erase: ${nothingMatched(opts.lake, request, byOriginal)}\n`,
  );
  return 1;
}
