// Copies of a template corpus that a lake takes for new instances: each
// copy rewrites the digits of every 2.25 UID and every MRN in place (same
// length, so every file stays valid DICOM) by a per-copy offset. Used by
// bench/scale.mjs and bench/download.mjs to grow corpora without running
// dcmtk for every file.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every .dcm file below `dir`. */
export function listDicom(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return listDicom(p);
    return e.name.endsWith('.dcm') ? [p] : [];
  });
}

const UID_ROOT = Buffer.from('2.25.');
const MRN = Buffer.from('MRN');

/** Rewrites the last `width` digits of the digit run `at..end` for `copy`. */
function shiftDigits(buf, at, end, copy, width) {
  const from = Math.max(at, end - width);
  const digits = buf.toString('latin1', from, end);
  const n = (Number(digits) + copy * 7919) % 10 ** digits.length;
  // A UID component may not start with 0: keep a leading digit non-zero.
  let text = String(n).padStart(digits.length, '0');
  if (from === at && text[0] === '0') text = '1' + text.slice(1);
  buf.write(text, from, 'latin1');
}

function digitRunEnd(buf, at) {
  let end = at;
  while (end < buf.length && buf[end] >= 0x30 && buf[end] <= 0x39) end++;
  return end;
}

/** A copy of a template file with the UIDs and patient IDs of copy `copy`. */
export function derive(bytes, copy) {
  const out = Buffer.from(bytes);
  for (
    let at = out.indexOf(UID_ROOT);
    at >= 0;
    at = out.indexOf(UID_ROOT, at + 1)
  ) {
    const start = at + UID_ROOT.length;
    const end = digitRunEnd(out, start);
    if (end - start >= 12) shiftDigits(out, start, end, copy, 9);
  }
  for (let at = out.indexOf(MRN); at >= 0; at = out.indexOf(MRN, at + 1)) {
    const start = at + MRN.length;
    const end = digitRunEnd(out, start);
    if (end - start >= 5) shiftDigits(out, start, end, copy, 5);
  }
  return out;
}

/**
 * Writes `count` files into `dir` (one folder per copy), copies
 * `firstCopy`, `firstCopy + 1`, ... of the template `files` (Buffers).
 * Returns the number of copies used.
 */
export function writeCopies(dir, files, count, firstCopy) {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  let copy = firstCopy;
  for (; n < count; copy++) {
    const sub = join(dir, `c${copy}`);
    mkdirSync(sub);
    for (const bytes of files) {
      if (n >= count) break;
      writeFileSync(join(sub, `${n++}.dcm`), derive(bytes, copy));
    }
  }
  return copy - firstCopy;
}
