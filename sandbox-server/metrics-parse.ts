// A strict reader of the Prometheus text exposition format 0.0.4, for the tests of /metrics: it
// throws on the first line that breaks a rule of the format, and returns the families otherwise.
// Rules checked: line grammar (HELP, TYPE, comments, samples), metric and label name grammar, label
// value escapes (\\, \", \n only), one HELP and one TYPE per family, TYPE before the family's
// samples, a family's samples in one group, no repeated label set, float values (NaN, ±Inf),
// the final line feed; summaries and histograms only through their _sum/_count/_bucket names.

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  type: string;
  help: string | null;
  samples: ParsedSample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?Inf$|^NaN$/;

function parseValue(text: string, line: number): number {
  if (!FLOAT.test(text)) throw new Error(`line ${line}: bad value «${text}»`);
  if (text.endsWith('Inf')) return text.startsWith('-') ? -Infinity : Infinity;
  return text === 'NaN' ? Number.NaN : Number(text);
}

/** Unescapes a HELP text: only \\ and \n are escapes; any other backslash is kept as is. */
function unescapeHelp(text: string): string {
  return text.replace(/\\([\\n])/g, (_, c) => (c === 'n' ? '\n' : '\\'));
}

/** Parses `{a="x",b="y"}` from `at` (the brace); returns the labels and the index after `}`. */
function parseLabels(s: string, at: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = at + 1;
  for (;;) {
    if (s[i] === '}') return { labels, end: i + 1 };
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new Error(`line ${line}: label without =`);
    const name = s.slice(i, eq).trim();
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name «${name}»`);
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`);
    i = eq + 1;
    if (s[i] !== '"') throw new Error(`line ${line}: label value not quoted`);
    i++;
    let value = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === '\n') throw new Error(`line ${line}: raw line feed in a label value`);
      if (c === '\\') {
        const n = s[i + 1];
        if (n === '\\') value += '\\';
        else if (n === '"') value += '"';
        else if (n === 'n') value += '\n';
        else throw new Error(`line ${line}: bad escape \\${n} in a label value`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[name] = value;
    i++;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new Error(`line ${line}: expected , or } after a label`);
  }
}

/** The family a sample name belongs to, given the declared types. */
function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ['_sum', '_count', '_bucket']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const type = types.get(base);
    if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base;
  }
  return name;
}

export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the last line does not end with a line feed');
  const families = new Map<string, ParsedFamily>();
  const types = new Map<string, string>();
  const done = new Set<string>();
  const seen = new Set<string>();
  let current: string | null = null;
  const lines = text.split('\n').slice(0, -1);
  const get = (name: string): ParsedFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', help: null, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const enter = (name: string, n: number) => {
    if (current !== name) {
      if (current !== null) done.add(current);
      if (done.has(name)) throw new Error(`line ${n}: family ${name} is not in one group`);
      current = name;
    }
  };
  lines.forEach((raw, index) => {
    const n = index + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = new RegExp(`^#[ \\t]+(HELP|TYPE)[ \\t]+(${NAME})(?:[ \\t]+(.*))?$`).exec(raw);
      if (!m) {
        if (/^#[ \t]+(HELP|TYPE)\b/.test(raw)) throw new Error(`line ${n}: malformed ${raw.slice(0, 40)}`);
        return; // a plain comment
      }
      const [, kind, name, rest = ''] = m;
      enter(name, n);
      const f = get(name);
      if (kind === 'HELP') {
        if (f.help !== null) throw new Error(`line ${n}: second HELP for ${name}`);
        f.help = unescapeHelp(rest);
      } else {
        if (types.has(name)) throw new Error(`line ${n}: second TYPE for ${name}`);
        if (f.samples.length > 0) throw new Error(`line ${n}: TYPE for ${name} after its samples`);
        if (!TYPES.has(rest.trim())) throw new Error(`line ${n}: unknown type «${rest}»`);
        types.set(name, rest.trim());
        f.type = rest.trim();
      }
      return;
    }
    const m = new RegExp(`^(${NAME})`).exec(raw);
    if (!m) throw new Error(`line ${n}: bad metric name in «${raw.slice(0, 40)}»`);
    const name = m[1];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (raw[i] === '{') ({ labels, end: i } = parseLabels(raw, i, n));
    const rest = raw.slice(i);
    if (!/^[ \t]/.test(rest)) throw new Error(`line ${n}: no blank before the value`);
    const parts = rest.trim().split(/[ \t]+/);
    if (parts.length > 2) throw new Error(`line ${n}: extra text after the value`);
    if (parts.length === 2 && !/^-?\d+$/.test(parts[1])) throw new Error(`line ${n}: bad timestamp`);
    const value = parseValue(parts[0], n);
    const family = familyOf(name, types);
    enter(family, n);
    const key = `${name}{${Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (seen.has(key)) throw new Error(`line ${n}: repeated sample ${key}`);
    seen.add(key);
    get(family).samples.push({ name, labels, value });
  });
  return families;
}

/** The value of one sample (`labels` must match exactly); undefined when absent. */
export function sampleValue(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(s.labels);
      if (keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  return undefined;
}
