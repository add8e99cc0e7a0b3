import { createHash } from 'node:crypto';
import { cliActor } from '../cliActor';
import { counted } from '../format';
import type { Options } from '../options';
import { runErasure } from '../runErasure';
import type { ErasureDone, ErasureRequest } from '../runErasure';

const USAGE =
  'usage: lpacs erase (--patient PSEUDONYMOUS_PATIENT_ID | --study STUDY_INSTANCE_UID) --reason "why" [--lake DIR]\n       lpacs erase resume [--lake DIR]   finish an erasure that was interrupted\n';

/** What a target is called in the audit log: a hash, never the value. */
function hashed(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;
}

/** One line saying what a run of an erasure did. */
export function erasureLine(d: ErasureDone): string {
  const p = d.plan;
  const objects = d.objectsAbsent
    ? `${counted(d.objectsDeleted, 'object')} deleted, ${d.objectsAbsent} already gone`
    : counted(d.objectsDeleted, 'object');
  const head = d.resumed
    ? `finished an interrupted erasure (${p.action}, begun ${p.begun}): `
    : '';
  const parts = [
    `${head}erased ${counted(p.instances.length, 'instance')} in ${counted(p.series.length, 'series', 'series')} (${objects}, ${counted(d.linkage, 'linkage record')}, ${counted(d.quarantine.originals, 'quarantined original')})`,
    `revoked ${counted(d.sharing.releasesRevoked.length, 'release')}`,
    `removed them from ${counted(d.sharing.cohortsChanged.length, 'saved cohort')}`,
  ];
  if (d.tombstones)
    parts.push(
      `${counted(d.tombstones, 'patient')} tombstoned: their files are refused if sent again`,
    );
  return `${parts.join('; ')}\n`;
}

/** The JSON report of a run of an erasure. */
export function erasureReport(d: ErasureDone): Record<string, unknown> {
  return {
    action: d.plan.action,
    resumed: d.resumed,
    instances: d.plan.instances.length,
    series: d.plan.series.length,
    studies: d.plan.studies.length,
    patients: d.plan.patients.length,
    objects: d.objectsDeleted,
    objectsAlreadyGone: d.objectsAbsent,
    linkageRecords: d.linkage,
    quarantined: d.quarantine.originals,
    conflicts: d.quarantine.conflicts,
    tombstones: d.tombstones,
    releasesRevoked: d.sharing.releasesRevoked,
    cohortsChanged: d.sharing.cohortsChanged,
  };
}

/** Prints what runErasure did; the exit code (1 when sharing failed). */
export function printErasure(
  opts: Options,
  r: { finished?: ErasureDone; done?: ErasureDone },
  extra: Record<string, unknown> = {},
): number {
  const runs = [r.finished, r.done].filter((d) => d !== undefined);
  if (opts.json) {
    const main = r.done ?? r.finished;
    process.stdout.write(
      `${JSON.stringify(
        {
          ...extra,
          ...(main ? erasureReport(main) : { instances: 0 }),
          ...(r.finished && r.done
            ? { finishedFirst: erasureReport(r.finished) }
            : {}),
        },
        null,
        2,
      )}\n`,
    );
  } else if (!runs.length)
    process.stdout.write('no erasure was left unfinished\n');
  for (const d of runs) if (!opts.json) process.stdout.write(erasureLine(d));
  const failed = runs.some((d) => d.sharing.failed.length);
  if (failed)
    process.stderr.write(
      `the erasure is not finished: rerun lpacs erase resume --lake ${opts.lake}\n`,
    );
  return failed ? 1 : 0;
}

/**
 * `lpacs erase --patient PSEUDONYM --reason TEXT` (a withdrawn consent)
 * or `--study UID`: the rows leave every table (rewritten, older
 * versions deleted); objects, masks, linkage records and quarantined
 * originals are deleted; releases that held them are revoked and
 * deleted; saved cohorts lose them (see eraseFromSharing); a patient is
 * tombstoned, so their files are refused from then on. Audited with who
 * and why, naming the target only by a hash. `lpacs erase resume`
 * finishes an erasure a killed process left (any erasure does first).
 */
export async function eraseCommand(
  opts: Options,
  flags: {
    patient?: string | undefined;
    study?: string | undefined;
    reason?: string | undefined;
    resume?: boolean;
  },
): Promise<number> {
  const operator = cliActor();
  if (flags.resume)
    return printErasure(opts, await runErasure(opts.lake, undefined, operator));
  const reason = flags.reason?.trim() ?? '';
  if (!flags.patient === !flags.study || !reason) {
    process.stderr.write(USAGE);
    return 2;
  }
  let request: ErasureRequest;
  if (flags.patient) {
    const patient = flags.patient.trim();
    if (!/^LP[A-Z2-7]{16}$/.test(patient)) {
      process.stderr.write(
        `lpacs erase: "${patient.slice(0, 40)}" is not a PatientID of this lake (LP and 16 letters or digits)\n`,
      );
      return 2;
    }
    request = {
      action: 'erase.patient',
      target: hashed(patient),
      reason,
      where: { sql: '"PatientID" = ?', params: [patient] },
      tombstone: true,
      patients: [patient],
    };
  } else {
    const study = flags.study!.trim();
    if (!/^[0-9]+(\.[0-9]+)*$/.test(study) || study.length > 64) {
      process.stderr.write(
        `lpacs erase: "${study.slice(0, 70)}" is not a StudyInstanceUID (digits and dots, at most 64)\n`,
      );
      return 2;
    }
    request = {
      action: 'erase.study',
      target: hashed(study),
      reason,
      where: { sql: '"StudyInstanceUID" = ?', params: [study] },
      tombstone: false,
      studies: [study],
    };
  }
  return printErasure(opts, await runErasure(opts.lake, request, operator));
}
