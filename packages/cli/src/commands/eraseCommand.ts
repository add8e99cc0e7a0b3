import { createHash } from 'node:crypto';
import { AuditLog } from '@lpacs/access';
import { LinkageReader } from '@lpacs/api';
import { Lake } from '@lpacs/lake';
import { cliActor } from '../cliActor';
import { eraseFromSharing } from '../eraseFromSharing';
import type { SharingErased } from '../eraseFromSharing';
import type { Options } from '../options';

/**
 * `lpacs erase --patient PSEUDONYM --reason TEXT`: a withdrawn consent.
 * The patient's rows leave every table (rewritten, older versions
 * deleted), their objects, masks and linkage records are deleted,
 * releases that held them are revoked and deleted, saved cohorts lose
 * them (see eraseFromSharing), and the act is audited with who and why
 * (the patient named only by a hash).
 */
export async function eraseCommand(
  opts: Options,
  flags: { patient?: string | undefined; reason?: string | undefined },
): Promise<number> {
  if (!flags.patient || !flags.reason?.trim()) {
    process.stderr.write(
      'usage: lpacs erase --patient PSEUDONYMOUS_PATIENT_ID --reason "why" [--lake DIR]\n',
    );
    return 2;
  }
  const operator = cliActor();
  const lake = await Lake.open(opts.lake);
  let erased;
  let shared: SharingErased;
  try {
    erased = await lake.erasePatient(flags.patient);
    shared = await eraseFromSharing(opts.lake, erased, operator);
  } finally {
    lake.close();
  }
  const linkage = new LinkageReader(opts.lake).forget(flags.patient);
  const flagged = shared.releasesRevoked;
  const patientHash = createHash('sha256')
    .update(flags.patient)
    .digest('hex')
    .slice(0, 16);
  await new AuditLog(opts.lake).append({
    actor: operator,
    action: 'erase.patient',
    target: `sha256:${patientHash}`,
    outcome: 'ok',
    detail: {
      reason: flags.reason.trim().slice(0, 200),
      instances: erased.instances.length,
      objects: erased.objects,
      linkage: linkage,
      releasesRevoked: flagged.length,
      cohortsChanged: shared.cohortsChanged.length,
      ...(shared.failed.length
        ? { sharingNotUpdated: shared.failed.join(', ') }
        : {}),
    },
  });
  const report = {
    instances: erased.instances.length,
    series: erased.series.length,
    objects: erased.objects,
    linkageRecords: linkage,
    releasesRevoked: flagged,
    cohortsChanged: shared.cohortsChanged,
  };
  process.stdout.write(
    opts.json
      ? `${JSON.stringify(report, null, 2)}\n`
      : `erased ${report.instances} instances in ${report.series} series (${report.objects} objects, ${linkage} linkage records); revoked ${flagged.length} releases; removed them from ${shared.cohortsChanged.length} saved cohorts\n`,
  );
  return shared.failed.length ? 1 : 0;
}
