'use client';

/** A segmentation model whose mask can be laid over the frame. */
export interface MaskModel {
  sha256: string;
  name: string;
  /** A stacking model's one mask for the whole series, shown on every slice. */
  series: boolean;
}

interface MaskControlsProps {
  models: readonly MaskModel[];
  model: string;
  onModel: (sha256: string) => void;
  shown: boolean;
  onShown: (shown: boolean) => void;
  opacity: number;
  onOpacity: (opacity: number) => void;
}

/** Whether, which and how strongly a segmentation mask is overlaid. */
export function MaskControls(p: MaskControlsProps) {
  if (!p.models.length) return null;
  return (
    <p role="group" aria-label="Mask overlay">
      <label>
        <input
          type="checkbox"
          checked={p.shown}
          onChange={(e) => p.onShown(e.target.checked)}
        />{' '}
        Show mask
      </label>{' '}
      {p.models.length > 1 ? (
        <label>
          Model{' '}
          <select value={p.model} onChange={(e) => p.onModel(e.target.value)}>
            {p.models.map((m) => (
              <option key={m.sha256} value={m.sha256}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <span>{p.models[0]!.name}</span>
      )}{' '}
      {p.models.find((m) => m.sha256 === p.model)?.series ? (
        <small data-testid="mask-scope">
          (one mask for the whole series, the same on every slice)
        </small>
      ) : null}{' '}
      <label>
        Mask opacity{' '}
        <input
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={p.opacity}
          disabled={!p.shown}
          onChange={(e) => p.onOpacity(Number(e.target.value))}
        />
      </label>{' '}
      <output aria-label="Opacity">{Math.round(p.opacity * 100)}%</output>
    </p>
  );
}
