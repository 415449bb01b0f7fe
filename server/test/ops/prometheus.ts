/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4): every sample must
 * belong to a family declared by a TYPE line before it, names and labels must be well formed,
 * histograms must have cumulative buckets ending in +Inf equal to their count.
 */
export interface Exposition {
  types: Map<string, string>;
  /** `name{a="1",b="2"}` (labels sorted) → value. */
  samples: Map<string, number>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const SUFFIXES: Record<string, string[]> = { histogram: ["_bucket", "_sum", "_count"], summary: ["", "_sum", "_count"] };

export function sampleKey(name: string, labels: Record<string, string> = {}): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return pairs.length === 0 ? name : `${name}{${pairs.map(([k, v]) => `${k}="${v}"`).join(",")}}`;
}

export function parseExposition(text: string): Exposition {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples = new Map<string, number>();
  text.slice(0, -1).split("\n").forEach((line, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1}: ${why}: ${line}`);
    };
    if (line.startsWith("# HELP ")) {
      const name = line.slice(7).split(" ")[0]!;
      if (!NAME.test(name) || helps.has(name)) fail("bad or repeated HELP");
      helps.add(name);
    } else if (line.startsWith("# TYPE ")) {
      const [name, type, extra] = line.slice(7).split(" ");
      if (!name || !NAME.test(name) || !type || !TYPES.has(type) || extra !== undefined || types.has(name)) fail("bad or repeated TYPE");
      types.set(name!, type!);
    } else if (line.trim() === "" || line.startsWith("#")) {
      // The format ignores blank lines and other comments.
    } else {
      const { name, labels, value } = parseSample(line, fail);
      if (!familyOf(name, types)) fail(`sample of an undeclared family`);
      const key = sampleKey(name, labels);
      if (samples.has(key)) fail("duplicate sample");
      samples.set(key, value);
    }
  });
  checkHistograms(types, samples);
  return { types, samples };
}

function parseSample(line: string, fail: (why: string) => never): { name: string; labels: Record<string, string>; value: number } {
  const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/);
  if (!m) fail("malformed sample");
  const labels: Record<string, string> = {};
  let rest = m![3] ?? "";
  while (rest.length > 0) {
    const pair = rest.match(/^([^=]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/);
    if (!pair || !LABEL.test(pair[1]!) || pair[1]! in labels) fail("malformed label");
    labels[pair![1]!] = pair![2]!.replace(/\\n/g, "\n").replace(/\\(["\\])/g, "$1");
    rest = rest.slice(pair![0].length);
  }
  return { name: m![1]!, labels, value: parseValue(m![4]!, fail) };
}

/** Values are read like Go's strconv.ParseFloat, as Prometheus does: special values in any case ("Nan" from prom-client included). */
function parseValue(raw: string, fail: (why: string) => never): number {
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(raw)) return Number(raw);
  if (/^nan$/i.test(raw)) return NaN;
  const inf = raw.match(/^([+-]?)inf(?:inity)?$/i);
  if (inf) return inf[1] === "-" ? -Infinity : Infinity;
  return fail("bad value");
}

function familyOf(sample: string, types: Map<string, string>): string | undefined {
  if (types.has(sample) && !SUFFIXES[types.get(sample)!]) return sample;
  for (const [family, type] of types) {
    for (const suffix of SUFFIXES[type] ?? []) if (sample === family + suffix) return family;
  }
  return undefined;
}

function checkHistograms(types: Map<string, string>, samples: Map<string, number>): void {
  for (const [family, type] of types) {
    if (type !== "histogram") continue;
    const series = new Map<string, [number, number][]>();
    for (const [key, value] of samples) {
      const m = key.match(new RegExp(`^${family}_bucket\\{(.*)\\}$`));
      if (!m) continue;
      const le = m[1]!.match(/(?:^|,)le="([^"]+)"/)?.[1];
      if (le === undefined) throw new Error(`${key}: bucket without le`);
      const others = m[1]!.replace(/(?:^|,)le="[^"]+"/, "").replace(/^,/, "");
      series.set(others, [...(series.get(others) ?? []), [le === "+Inf" ? Infinity : Number(le), value]]);
    }
    for (const [labels, buckets] of series) {
      buckets.sort((a, b) => a[0] - b[0]);
      buckets.forEach(([, v], i) => {
        if (i > 0 && v < buckets[i - 1]![1]) throw new Error(`${family}{${labels}}: buckets are not cumulative`);
      });
      const count = samples.get(labels ? `${family}_count{${labels}}` : `${family}_count`);
      if (buckets.at(-1)![0] !== Infinity || buckets.at(-1)![1] !== count) throw new Error(`${family}{${labels}}: +Inf bucket must equal _count`);
    }
  }
}
