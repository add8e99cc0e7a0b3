import { AuditLog } from '@lpacs/access';
import { jobAuditDetail } from '@lpacs/ml';
import type { AddedModel, JobState } from '@lpacs/ml';
import { cliActor } from './cliActor';

/**
 * The `model.add` entry of `lpacs models add`, under the OS user: the
 * model's SHA-256 as target, its name and version, as the API's addModel
 * writes. A model already stored changed nothing and has none.
 */
export async function auditModelAdd(
  lake: string,
  model: AddedModel,
): Promise<void> {
  if (model.alreadyStored) return;
  await new AuditLog(lake).append({
    actor: cliActor(),
    action: 'model.add',
    target: model.sha256,
    outcome: 'ok',
    detail: { name: model.manifest.name, version: model.manifest.version },
  });
}

/**
 * The `model.run` or `model.cancel` entry of `lpacs predict`, under the
 * OS user: the job's id as target, the model's identity and the selection
 * as counts (jobAuditDetail), and what `extra` adds (a resume; the
 * owner and the phase a cancel left the job in).
 */
export async function auditJob(
  lake: string,
  action: 'model.run' | 'model.cancel',
  job: JobState,
  extra: Record<string, string | number | boolean> = {},
): Promise<void> {
  await new AuditLog(lake).append({
    actor: cliActor(),
    action,
    target: job.id,
    outcome: 'ok',
    detail: { ...jobAuditDetail(job), ...extra },
  });
}
