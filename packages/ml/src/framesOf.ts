import type { FrameSelection } from './types';

/** The frame indices a manifest's frame selection picks from n frames. */
export function framesOf(selection: FrameSelection, n: number): number[] {
  switch (selection) {
    case 'each':
      return Array.from({ length: n }, (_, i) => i);
    case 'first':
      return [0];
    case 'middle':
      return [Math.floor(n / 2)];
  }
}
