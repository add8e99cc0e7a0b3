import { openLakeCipher } from '@lpacs/lake';
import { ModelRegistry } from '@lpacs/ml';
import { resolve } from 'node:path';
import { createLogger } from '../logger';
import { auditModelAdd } from '../modelAudit';
import type { Options } from '../options';
import { requireLake } from '../requireLake';

/**
 * `lpacs models add DIR [--lake DIR] [--json]`: stores a model folder,
 * audited as `model.add` under the OS user (`cli:<login>`).
 */
export async function modelsAddCommand(
  dirs: string[],
  opts: Options,
): Promise<number> {
  if (dirs.length !== 1) {
    process.stderr.write(
      'lpacs models add: give one folder holding model.onnx and manifest.json\n',
    );
    return 2;
  }
  // An encrypted lake's KEK first: its audit entry is sealed, and a
  // model stored without one would be on no record.
  openLakeCipher(opts.lake);
  await requireLake(opts.lake);
  const registry = new ModelRegistry(
    opts.lake,
    createLogger('ml.registry', process.env.LPACS_LOG_LEVEL ?? 'error'),
  );
  // The operator's own command on this machine: a refusal may quote the
  // manifest's values (addModel over GraphQL only says their types).
  const model = await registry.add(resolve(dirs[0]!), { showValues: true });
  await auditModelAdd(opts.lake, model);
  const m = model.manifest;
  process.stdout.write(
    opts.json
      ? JSON.stringify(model, null, 2) + '\n'
      : model.alreadyStored
        ? `already registered as ${m.name} ${m.version} (sha256 ${model.sha256}, added ${model.addedAt}); nothing changed\n`
        : `added ${m.name} ${m.version} (${m.task}) sha256 ${model.sha256}\n`,
  );
  return 0;
}
