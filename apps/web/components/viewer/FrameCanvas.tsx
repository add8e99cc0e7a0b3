'use client';

import { useEffect, useRef, useState } from 'react';
import type { HTMLAttributes } from 'react';
import { frameImage, maskLayer } from '../../lib/frameImages';
import { ErrorAlert } from '../common/ErrorAlert';

interface FrameCanvasProps extends HTMLAttributes<HTMLCanvasElement> {
  /** The rendered frame's URL. */
  src: string;
  /** A mask to draw over it, or null. */
  mask: string | null;
  /** The mask's opacity, 0 to 1. */
  opacity: number;
  /** Frames likely to be shown next, fetched and decoded ahead. */
  ahead: readonly string[];
  /** CSS width in pixels. */
  width: number;
  label: string;
}

/**
 * One frame drawn at its own size on a canvas, with a segmentation mask
 * blended over it. `data-drawn` names what the canvas shows once drawn
 * (`src`, or `src mask opacity`), for tests and benchmarks.
 */
export function FrameCanvas({
  src,
  mask,
  opacity,
  ahead,
  width,
  label,
  ...events
}: FrameCanvasProps) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [drawn, setDrawn] = useState('');
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    const draw = async () => {
      const [image, layer] = await Promise.all([
        frameImage(src),
        mask ? maskLayer(mask) : null,
      ]);
      const canvas = ref.current;
      if (!live || !canvas) return;
      if (canvas.width !== image.width) canvas.width = image.width;
      if (canvas.height !== image.height) canvas.height = image.height;
      const g = canvas.getContext('2d')!;
      g.globalAlpha = 1;
      g.drawImage(image, 0, 0);
      if (layer && opacity > 0) {
        g.imageSmoothingEnabled = false;
        g.globalAlpha = opacity;
        g.drawImage(layer, 0, 0, image.width, image.height);
        g.globalAlpha = 1;
      }
      setError(null);
      setDrawn(layer ? `${src} ${mask} ${opacity}` : src);
    };
    draw().catch((err: unknown) => live && setError(err));
    return () => {
      live = false;
    };
  }, [src, mask, opacity]);
  useEffect(() => {
    for (const url of ahead) frameImage(url).catch(() => undefined);
  }, [ahead]);
  return (
    <>
      <canvas
        ref={ref}
        role="img"
        aria-label={label}
        data-src={src}
        data-drawn={drawn}
        tabIndex={0}
        style={{ width: `${width}px`, cursor: 'crosshair' }}
        {...events}
      />
      {error ? (
        <ErrorAlert what="Could not draw the frame" error={error} />
      ) : null}
    </>
  );
}
