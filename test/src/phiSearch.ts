import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { filesUnder, parquetRows } from './helpers';

/** A byte string to look for, and the planted value it stands for. */
export interface Needle {
  what: string;
  bytes: Buffer;
}

/** Encodings a value could be written in by any component of lpacs. */
export const CODECS = [
  'latin-1',
  'utf-8',
  'iso2022_jp',
  'iso2022_jp_2', // ISO 2022 with GB 2312 and KS X 1001 too
  'iso2022_kr',
  'euc_jp',
  'shift_jis',
  'euc_kr',
  'gb18030',
  'iso8859_5',
  'iso8859_7',
];

/**
 * Every form each text could survive in: as is and upper-case, in each
 * codec that can encode it (Python's codecs, independent of lpacs and
 * Node), mis-decoded as a mislabelled value reads (its UTF-8 bytes read as
 * Latin-1, "MÃ\x9cLLER" for "MÜLLER", and its Latin-1 bytes read as
 * UTF-8 with replacement characters, "M\ufffdLLER"), each of those in
 * every codec too (a table stores the misreading in UTF-8), and
 * JSON-escaped (`\u00fc`), as an API or a report may send it. Forms under
 * `minBytes` are left out: they occur by chance in binary data.
 */
export function needlesOf(
  texts: Array<{ what: string; text: string }>,
  minBytes = 4,
): Needle[] {
  const variants = texts.flatMap(({ what, text }) =>
    [...new Set([text, text.toUpperCase()])].map((t) => ({ what, t })),
  );
  const hex = JSON.parse(
    execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        `import json,sys
texts, codecs = json.load(sys.stdin)
out = []
def misread(t):
    out = [t]
    if t.isascii(): return out
    out.append(t.encode('utf-8').decode('latin-1'))
    try: out.append(t.encode('latin-1').decode('utf-8', 'replace'))
    except UnicodeError: pass
    return out
for t in texts:
    forms = set()
    for m in misread(t):
        for c in codecs:
            try: forms.add(m.encode(c).hex())
            except UnicodeError: pass
    out.append(sorted(forms))
print(json.dumps(out))`,
      ],
      {
        input: JSON.stringify([variants.map((v) => v.t), CODECS]),
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    ),
  ) as string[][];
  const out: Needle[] = [];
  variants.forEach(({ what, t }, i) => {
    for (const h of hex[i]!) out.push({ what, bytes: Buffer.from(h, 'hex') });
    const escaped = [...t]
      .map((ch) =>
        ch.charCodeAt(0) > 0x7e
          ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`
          : ch,
      )
      .join('');
    if (escaped !== t) out.push({ what, bytes: Buffer.from(escaped, 'utf8') });
  });
  return out.filter((n) => n.bytes.length >= minBytes);
}

/**
 * True when the text at `at` lies inside a UID lpacs made: a run of
 * digits and dots that begins `2.25.` (a keyed UID's 39 or so decimal
 * digits hold a given 8-digit date now and then, by chance).
 */
function insideMadeUid(text: string, at: number, length: number): boolean {
  const uidChar = (c: string | undefined) =>
    c !== undefined && /[0-9.]/.test(c);
  for (let i = at; i < at + length; i++) if (!uidChar(text[i])) return false;
  let start = at;
  while (start > 0 && uidChar(text[start - 1])) start--;
  return text.startsWith('2.25.', start) && start + 5 <= at;
}

/**
 * The planted values whose forms occur in a haystack, case-blind; a
 * numeric form found only inside UIDs lpacs made does not count.
 */
export function leaksIn(haystack: Buffer, needles: Needle[]): string[] {
  const upper = haystack.toString('latin1').toUpperCase();
  const found = new Set<string>();
  for (const n of needles) {
    const needle = n.bytes.toString('latin1').toUpperCase();
    for (
      let at = upper.indexOf(needle);
      at !== -1;
      at = upper.indexOf(needle, at + 1)
    )
      if (!insideMadeUid(upper, at, needle.length)) {
        found.add(n.what);
        break;
      }
  }
  return [...found];
}

/**
 * What a lake holds outside quarantine and keys, to search: every file's
 * bytes, and for Parquet (zstd-compressed, so its bytes hide values) every
 * row as DuckDB reads it, as UTF-8 JSON.
 */
export async function lakeContents(
  lake: string,
): Promise<Array<{ file: string; bytes: Buffer }>> {
  const files = filesUnder(lake).filter(
    (f) => !f.includes('/quarantine/') && !f.includes('/keys/'),
  );
  const out: Array<{ file: string; bytes: Buffer }> = [];
  for (const file of files) {
    out.push({ file, bytes: readFileSync(file) });
    if (!file.endsWith('.parquet')) continue;
    const rows = await parquetRows(
      `SELECT * FROM read_parquet('${file.replace(/'/g, "''")}')`,
    );
    const text = JSON.stringify(rows, (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v,
    );
    out.push({ file: `${file} (rows)`, bytes: Buffer.from(text, 'utf8') });
  }
  return out;
}
