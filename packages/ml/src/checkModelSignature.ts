import { MlError, MlErrorCode } from './MlError';
import type { ModelManifest } from './types';

/** A tensor as an ONNX session describes it. */
export interface TensorSignature {
  name: string;
  /** Element type, e.g. `float32`. */
  type: string;
  /** Dimensions; strings are symbolic. */
  shape: ReadonlyArray<number | string>;
}

function dims(shape: ReadonlyArray<number | string>): string {
  return `[${shape.join(', ')}]`;
}

/** Symbolic dims (and ONNX's -1 or 0 for unknown) match anything. */
function fixed(d: number | string | undefined): d is number {
  return typeof d === 'number' && d > 0;
}

/**
 * Checks a manifest against the ONNX graph's real inputs and outputs:
 * names, element types, ranks, fixed sizes, and the label count along the
 * class axis (last for classification and regression, channels for
 * segmentation).
 * @throws MlError MODEL_MISMATCH naming each disagreement (in `problems`).
 */
export function checkModelSignature(
  manifest: ModelManifest,
  inputs: readonly TensorSignature[],
  outputs: readonly TensorSignature[],
): void {
  const problems: string[] = [];
  const [want] = manifest.inputs;
  if (inputs.length !== 1)
    problems.push(
      `the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); lpacs feeds exactly one`,
    );
  const got = inputs.find((i) => i.name === want.name);
  if (!got) {
    problems.push(
      `inputs[0].name "${want.name}" is not an input of the model (it has ${inputs.map((i) => i.name).join(', ')})`,
    );
  } else {
    if (got.type !== want.dtype)
      problems.push(`input "${want.name}" is ${got.type}, not ${want.dtype}`);
    if (got.shape.length !== want.shape.length)
      problems.push(
        `input "${want.name}" has shape ${dims(got.shape)}, manifest says ${dims(want.shape)}`,
      );
    else
      want.shape.forEach((d, i) => {
        const g = got.shape[i];
        if (fixed(g) && d !== g)
          problems.push(
            `input "${want.name}" dimension ${i} is ${g} in the model, ${d} in the manifest`,
          );
      });
  }
  for (const out of manifest.outputs) {
    const o = outputs.find((x) => x.name === out.name);
    if (!o) {
      problems.push(
        `output "${out.name}" is not an output of the model (it has ${outputs.map((x) => x.name).join(', ')})`,
      );
      continue;
    }
    if (o.type !== 'float32')
      problems.push(`output "${out.name}" is ${o.type}, not float32`);
    const seg = manifest.task === 'segmentation';
    const rank = seg ? 4 : 2;
    if (o.shape.length !== rank) {
      problems.push(
        `output "${out.name}" has shape ${dims(o.shape)}; a ${manifest.task} output must have ${rank} dimensions`,
      );
      continue;
    }
    const axis = seg ? (manifest.preprocessing.layout === 'NCHW' ? 1 : 3) : 1;
    const n = o.shape[axis];
    if (fixed(n) && n !== out.labels.length)
      problems.push(
        `output "${out.name}" has ${n} values on axis ${axis} but ${out.labels.length} labels`,
      );
  }
  if (problems.length)
    throw new MlError(
      MlErrorCode.ModelMismatch,
      `manifest does not match model.onnx: ${problems.join('; ')}`,
      problems,
    );
}
