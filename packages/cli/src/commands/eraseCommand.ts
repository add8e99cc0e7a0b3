import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { AuditLog } from '@lpacs/access';
import { LinkageReader } from '@lpacs/api';
import { Lake } from '@lpacs/lake';
import {
  SharingStore,
  readReleaseManifest,
  releaseDir,
  releaseInstanceUIDs,
} from '@lpacs/sharing';
import { cliActor } from '../cliActor';
import type { Options } from '../options';

/** The SOP Instance UIDs a release holds, from its manifest's paths. */
export async function releaseInstances(
  lake: string,
  id: string,
): Promise<string[]> {
  try {
    return releaseInstanceUIDs(await readReleaseManifest(lake, id));
  } catch {
    return []; // erased before, or never built
  }
}

/** Deletes the releases of flagged shares: their data is gone. */
export async function retireReleases(
  lake: string,
  sharing: SharingStore,
  shareIds: string[],
): Promise<void> {
  for (const id of shareIds) {
    const releaseId = sharing.share(id).releaseId;
    if (releaseId)
      await rm(releaseDir(lake, releaseId), { recursive: true, force: true });
  }
}

/**
 * `lpacs erase --patient PSEUDONYM --reason TEXT`: a withdrawn consent.
 * The patient's rows leave every table (rewritten, older versions
 * deleted), their objects, masks and linkage records are deleted,
 * releases that held them are revoked and deleted, and the act is
 * audited with who and why (the patient named only by a hash).
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
  try {
    erased = await lake.erasePatient(flags.patient);
  } finally {
    lake.close();
  }
  const linkage = new LinkageReader(opts.lake).forget(flags.patient);
  const sharing = new SharingStore(opts.lake);
  const flagged = await sharing.flagErased(
    (id) => releaseInstances(opts.lake, id),
    erased.instances,
    operator,
  );
  for (const id of flagged) {
    const releaseId = sharing.share(id).releaseId;
    if (releaseId)
      await rm(releaseDir(opts.lake, releaseId), {
        recursive: true,
        force: true,
      });
  }
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
    },
  });
  const report = {
    instances: erased.instances.length,
    series: erased.series.length,
    objects: erased.objects,
    linkageRecords: linkage,
    releasesRevoked: flagged,
  };
  process.stdout.write(
    opts.json
      ? `${JSON.stringify(report, null, 2)}\n`
      : `erased ${report.instances} instances in ${report.series} series (${report.objects} objects, ${linkage} linkage records); revoked ${flagged.length} releases\n`,
  );
  return 0;
}
