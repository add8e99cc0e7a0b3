import { ModelRegistry } from '@lpacs/ml';
import type { Options } from '../options';
import { requireLake } from '../requireLake';

/** `lpacs models list [--lake DIR] [--json]`: the lake's models. */
export async function modelsListCommand(opts: Options): Promise<number> {
  await requireLake(opts.lake);
  const models = await new ModelRegistry(opts.lake).list();
  if (opts.json) {
    process.stdout.write(JSON.stringify(models, null, 2) + '\n');
    return 0;
  }
  if (!models.length) {
    process.stdout.write('no models (add one with lpacs models add DIR)\n');
    return 0;
  }
  for (const { manifest: m, sha256, addedAt } of models) {
    const labels = m.outputs[0]?.labels.join(', ') ?? '';
    process.stdout.write(
      `${m.name.padEnd(20)} ${m.version.padEnd(8)} ${m.task.padEnd(14)} ${sha256.slice(0, 12)}  ${addedAt.slice(0, 19)}Z  [${labels}]\n`,
    );
  }
  return 0;
}
