/** Upper bounds (seconds) of the request duration histogram. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Label values are ours (route names, status codes): no escaping needed beyond quotes. */
function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(
    ([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`,
  );
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** A gauge sampled at scrape time: one value, or one per set of labels. */
export interface Gauge {
  help: string;
  value:
    number | ReadonlyArray<{ labels: Record<string, string>; value: number }>;
}

/** Requests of the recent past, at a glance (see Metrics.recent). */
export interface RecentRequests {
  windowSeconds: number;
  requests: number;
  /** Answers with a 5xx status: the server's failures, not the client's. */
  serverErrors: number;
  /** Answers with a 4xx status. */
  clientErrors: number;
  /** Median and 95th percentile time to answer, ms (null without requests). */
  p50Ms: number | null;
  p95Ms: number | null;
}

/** The most requests the recent window remembers. */
const RECENT_MAX = 10_000;

/** The value at quantile q of sorted values (nearest rank). */
function quantile(sorted: number[], q: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/**
 * Prometheus metrics of one API process, in the text exposition format
 * (version 0.0.4). Counts and durations only: no identifiers, no PHI.
 */
export class Metrics {
  readonly #started = Date.now();
  readonly #requests = new Map<string, number>();
  readonly #durations = new Map<
    string,
    { buckets: number[]; sum: number; count: number }
  >();
  readonly #counters = new Map<string, number>();
  /** The HELP text of counters that have one (see describe). */
  readonly #help = new Map<string, string>();
  /** [end time ms, seconds, status] of the latest requests, oldest first. */
  #recent: Array<[number, number, number]> = [];

  /** Records one HTTP request by route and status. */
  request(route: string, status: number, seconds: number): void {
    const key = labels({ route, status: String(status) });
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    const d = this.#durations.get(route) ?? {
      buckets: BUCKETS.map(() => 0),
      sum: 0,
      count: 0,
    };
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) d.buckets[i]!++;
    });
    d.sum += seconds;
    d.count++;
    this.#durations.set(route, d);
    this.#recent.push([Date.now(), seconds, status]);
    if (this.#recent.length > RECENT_MAX * 2)
      this.#recent = this.#recent.slice(-RECENT_MAX);
  }

  /** Seconds since this process started serving. */
  get uptimeSeconds(): number {
    return (Date.now() - this.#started) / 1000;
  }

  /** Requests answered in the last `windowSeconds` (at most 10 000). */
  recent(windowSeconds = 300): RecentRequests {
    const since = Date.now() - windowSeconds * 1000;
    const last = this.#recent.slice(-RECENT_MAX).filter(([at]) => at >= since);
    const ms = last.map(([, s]) => s * 1000).sort((a, b) => a - b);
    return {
      windowSeconds,
      requests: last.length,
      serverErrors: last.filter(([, , st]) => st >= 500).length,
      clientErrors: last.filter(([, , st]) => st >= 400 && st < 500).length,
      p50Ms: quantile(ms, 0.5),
      p95Ms: quantile(ms, 0.95),
    };
  }

  /** Adds to a named counter with labels (e.g. ingested files by verdict). */
  count(name: string, l: Record<string, string>, by = 1): void {
    const key = `${name}${labels(l)}`;
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + by);
  }

  /**
   * Gives a counter its HELP line, and samples at 0 for `zero` (label
   * sets), so a rate or increase() over them sees their first rise.
   */
  describe(
    name: string,
    help: string,
    zero: ReadonlyArray<Record<string, string>> = [],
  ): void {
    this.#help.set(name, help);
    for (const l of zero) this.count(name, l, 0);
  }

  /**
   * The exposition text; `gauges` are sampled by the caller at scrape time:
   * one value, or one sample per set of labels (none: the family is
   * declared without samples).
   */
  render(gauges: Record<string, Gauge>): string {
    const out: string[] = [
      '# HELP lpacs_uptime_seconds Seconds since the API started.',
      '# TYPE lpacs_uptime_seconds gauge',
      `lpacs_uptime_seconds ${(Date.now() - this.#started) / 1000}`,
      '# HELP lpacs_http_requests_total HTTP requests by route and status.',
      '# TYPE lpacs_http_requests_total counter',
    ];
    for (const [k, v] of this.#requests)
      out.push(`lpacs_http_requests_total${k} ${v}`);
    out.push(
      '# HELP lpacs_http_request_duration_seconds Time to answer a request, by route.',
      '# TYPE lpacs_http_request_duration_seconds histogram',
    );
    for (const [route, d] of this.#durations) {
      BUCKETS.forEach((b, i) =>
        out.push(
          `lpacs_http_request_duration_seconds_bucket${labels({ route, le: String(b) })} ${d.buckets[i]}`,
        ),
      );
      out.push(
        `lpacs_http_request_duration_seconds_bucket${labels({ route, le: '+Inf' })} ${d.count}`,
        `lpacs_http_request_duration_seconds_sum${labels({ route })} ${d.sum}`,
        `lpacs_http_request_duration_seconds_count${labels({ route })} ${d.count}`,
      );
    }
    const names = new Set(
      [...this.#counters.keys()].map((k) => k.split('{')[0]!),
    );
    for (const name of names) {
      const help = this.#help.get(name);
      if (help) out.push(`# HELP ${name} ${help}`);
      out.push(`# TYPE ${name} counter`);
      for (const [k, v] of this.#counters)
        if (k.split('{')[0] === name) out.push(`${k} ${v}`);
    }
    for (const [name, g] of Object.entries(gauges)) {
      out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`);
      if (typeof g.value === 'number') out.push(`${name} ${g.value}`);
      else
        for (const sample of g.value)
          out.push(`${name}${labels(sample.labels)} ${sample.value}`);
    }
    return `${out.join('\n')}\n`;
  }
}

/** The route label of a path: its first segment, so label values stay few. */
export function routeOf(path: string): string {
  const first = path.split('/')[1] ?? '';
  return [
    'graphql',
    'dicomweb',
    'releases',
    'auth',
    'metrics',
    'healthz',
    'readyz',
    'sync',
  ].includes(first)
    ? `/${first}`
    : 'other';
}
