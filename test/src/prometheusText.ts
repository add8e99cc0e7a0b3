/**
 * A strict reader of the Prometheus text exposition format (version
 * 0.0.4, as the Prometheus documentation "Exposition formats" defines
 * it), written for the tests from the format's description: it throws on
 * the first line that breaks a rule, naming it. Rules checked:
 *
 * - every line is `# HELP name text`, `# TYPE name type`, another comment,
 *   or a sample `name{label="value",...} value [timestamp]`, no blank line;
 * - names match `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names
 *   `[a-zA-Z_][a-zA-Z0-9_]*` and not `__`-prefixed, label values are
 *   quoted with only `\\`, `\"` and `\n` escaped, no label twice;
 * - values are Go floats (`1`, `-1.5`, `1e3`, `NaN`, `+Inf`, `-Inf`);
 * - at most one HELP and one TYPE per family, before its first sample;
 *   a family's lines are contiguous; no sample (name and labels) twice;
 * - a histogram's samples are `_bucket` (with `le`), `_sum` and `_count`;
 *   for each label set the buckets rise with `le`, end with `le="+Inf"`,
 *   and that bucket equals `_count`;
 * - the text ends with a newline.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help?: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT =
  /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|NaN|Inf)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, where: string): number {
  if (!FLOAT.test(text))
    throw new Error(`${where}: value "${text}" is not a float`);
  if (/^[+-]?Inf$/.test(text))
    return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

/** Reads `{a="b",c="d"}` from `line` at `at`; returns labels and the index after `}`. */
function parseLabels(
  line: string,
  at: number,
  where: string,
): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = at + 1;
  for (;;) {
    if (line[i] === '}') return { labels, end: i + 1 };
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without =`);
    const name = line.slice(i, eq);
    if (!LABEL.test(name) || name.startsWith('__'))
      throw new Error(`${where}: bad label name "${name}"`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    if (line[eq + 1] !== '"')
      throw new Error(`${where}: label value not quoted`);
    let j = eq + 2;
    let value = '';
    for (;;) {
      const c = line[j];
      if (c === undefined)
        throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const n = line[j + 1];
        if (n === '\\') value += '\\';
        else if (n === '"') value += '"';
        else if (n === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${n}`);
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}')
      throw new Error(`${where}: expected , or } after a label`);
  }
}

/** The family a sample name belongs to, given the declared types. */
function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && types.get(base) === 'histogram') return base;
  }
  return name;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith('\n'))
    throw new Error('the text does not end with a newline');
  const families = new Map<string, Family>();
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const seenSamples = new Set<string>();
  const closed = new Set<string>();
  let current: string | undefined;
  const enter = (family: string, where: string) => {
    if (current !== family) {
      if (closed.has(family))
        throw new Error(`${where}: family ${family} is not contiguous`);
      if (current) closed.add(current);
      current = family;
    }
  };
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, n) => {
    const where = `line ${n + 1} "${line}"`;
    if (line === '') throw new Error(`${where}: blank line`);
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // another comment
      const [, kind, name, rest] = m as unknown as [
        string,
        string,
        string,
        string,
      ];
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
      enter(name, where);
      const family = families.get(name) ?? {
        name,
        type: 'untyped',
        samples: [],
      };
      families.set(name, family);
      if (kind === 'HELP') {
        if (helps.has(name)) throw new Error(`${where}: HELP twice`);
        if (/\\(?![\\n])/.test(rest))
          throw new Error(`${where}: bad escape in HELP`);
        helps.add(name);
        family.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      } else {
        if (types.has(name)) throw new Error(`${where}: TYPE twice`);
        if (family.samples.length)
          throw new Error(`${where}: TYPE after samples`);
        if (!TYPES.has(rest))
          throw new Error(`${where}: unknown type "${rest}"`);
        types.set(name, rest);
        family.type = rest;
      }
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd < 1) throw new Error(`${where}: no metric name`);
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i, where));
    if (line[i] !== ' ')
      throw new Error(`${where}: expected a space before the value`);
    const fields = line.slice(i + 1).split(' ');
    if (fields.length < 1 || fields.length > 2 || fields[0] === '')
      throw new Error(`${where}: expected a value and an optional timestamp`);
    const value = parseValue(fields[0]!, where);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1]))
      throw new Error(`${where}: bad timestamp`);
    const familyName = familyOf(name, types);
    enter(familyName, where);
    const family = families.get(familyName) ?? {
      name: familyName,
      type: 'untyped',
      samples: [],
    };
    families.set(familyName, family);
    if (family.type === 'histogram') {
      if (name === familyName)
        throw new Error(
          `${where}: a histogram sample needs _bucket, _sum or _count`,
        );
      if (name.endsWith('_bucket') && !('le' in labels))
        throw new Error(`${where}: a bucket without le`);
    }
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSamples.has(key)) throw new Error(`${where}: sample given twice`);
    seenSamples.add(key);
    family.samples.push({ name, labels, value });
  });
  for (const f of families.values())
    if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const rest = (l: Record<string, string>) =>
    JSON.stringify(
      Object.entries(l)
        .filter(([k]) => k !== 'le')
        .sort(),
    );
  const sets = new Set(f.samples.map((s) => rest(s.labels)));
  for (const set of sets) {
    const of = f.samples.filter((s) => rest(s.labels) === set);
    const buckets = of.filter((s) => s.name === `${f.name}_bucket`);
    const count = of.find((s) => s.name === `${f.name}_count`);
    if (!count || !of.some((s) => s.name === `${f.name}_sum`))
      throw new Error(`${f.name}${set}: _sum or _count missing`);
    const les = buckets.map((b) => parseValue(b.labels.le!, `${f.name} le`));
    for (let i = 1; i < buckets.length; i++)
      if (les[i]! <= les[i - 1]! || buckets[i]!.value < buckets[i - 1]!.value)
        throw new Error(`${f.name}${set}: buckets do not rise with le`);
    if (les.at(-1) !== Infinity)
      throw new Error(`${f.name}${set}: no +Inf bucket`);
    if (buckets.at(-1)!.value !== count.value)
      throw new Error(`${f.name}${set}: +Inf bucket is not _count`);
  }
}
