// A small PromQL reader for checking the Grafana dashboard's queries against the metric
// catalog: which metric each selector names, its label matchers, which labels each
// aggregation groups by, and whether every selector is filtered by the dashboard's job and
// instance variables and summed. It is no full parser: promtool checks the syntax; this
// checks what promtool cannot know (the names cpe-sim exports).

export type Token =
  | { kind: 'ident'; text: string; at: number }
  | { kind: 'string'; text: string; at: number }
  | { kind: 'number'; text: string; at: number }
  | { kind: 'range'; text: string; at: number }
  | { kind: 'op'; text: string; at: number };

const OPS = ['=~', '!~', '!=', '==', '>=', '<=', '>', '<', '=', '+', '-', '*', '/', '%', '^', '(', ')', '{', '}', ',', '@'];

/** Tokens of `expr`; Grafana variables may stand inside strings and ranges (`[$__rate_interval]`). */
export function lex(expr: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const ch = expr[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      let j = i + 1;
      let text = '';
      while (j < expr.length && expr[j] !== ch) {
        if (expr[j] === '\\' && ch !== '`') j++;
        text += expr[j] ?? '';
        j++;
      }
      if (j >= expr.length) throw new Error(`unterminated string at ${i} in ${expr}`);
      out.push({ kind: 'string', text, at: i });
      i = j + 1;
      continue;
    }
    if (ch === '[') {
      const j = expr.indexOf(']', i);
      if (j < 0) throw new Error(`unterminated range at ${i} in ${expr}`);
      out.push({ kind: 'range', text: expr.slice(i + 1, j).trim(), at: i });
      i = j + 1;
      continue;
    }
    const id = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i));
    if (id) {
      out.push({ kind: 'ident', text: id[0], at: i });
      i += id[0].length;
      continue;
    }
    const num = /^(?:0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)/.exec(expr.slice(i));
    if (num && num[0] !== '') {
      out.push({ kind: 'number', text: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const op = OPS.find((o) => expr.startsWith(o, i));
    if (op === undefined) throw new Error(`unexpected ${JSON.stringify(ch)} at ${i} in ${expr}`);
    out.push({ kind: 'op', text: op, at: i });
    i += op.length;
  }
  return out;
}

export const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group']);
const FUNCTIONS = new Set([
  'abs', 'absent', 'absent_over_time', 'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'count_over_time', 'delta', 'deriv',
  'exp', 'floor', 'histogram_quantile', 'idelta', 'increase', 'irate', 'last_over_time', 'ln', 'log10', 'log2', 'max_over_time', 'min_over_time',
  'predict_linear', 'quantile_over_time', 'rate', 'resets', 'round', 'scalar', 'sort', 'sort_desc', 'sqrt', 'stddev_over_time', 'sum_over_time',
  'time', 'timestamp', 'vector',
]);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'Inf', 'NaN']);

export interface Matcher {
  label: string;
  op: string;
  value: string;
}
export interface Selector {
  metric: string;
  matchers: Matcher[];
  /** Token index of the metric name. */
  index: number;
}
export interface Aggregation {
  op: string;
  /** by/without and the labels, when given. */
  grouping?: { kind: string; labels: string[] };
  /** Token indexes of the argument's parentheses. */
  open: number;
  close: number;
}
export interface Reading {
  selectors: Selector[];
  aggregations: Aggregation[];
  /** Label lists of on(...), ignoring(...), group_left(...), group_right(...). */
  otherLabelLists: string[][];
  problems: string[];
}

/** The selectors, aggregations and label lists of `expr`, and what breaks the dashboard's rules. */
export function read(expr: string): Reading {
  const t = lex(expr);
  const problems: string[] = [];
  const match = new Map<number, number>();
  const stack: number[] = [];
  t.forEach((tok, i) => {
    if (tok.kind !== 'op') return;
    if (tok.text === '(') stack.push(i);
    if (tok.text === ')') {
      const o = stack.pop();
      if (o === undefined) problems.push(`unbalanced ")" at ${tok.at}`);
      else match.set(o, i);
    }
  });
  if (stack.length > 0) problems.push('unbalanced "("');
  const isOp = (i: number, text: string) => t[i]?.kind === 'op' && t[i]!.text === text;
  const labelList = (open: number): { labels: string[]; close: number } => {
    const close = match.get(open);
    if (!isOp(open, '(') || close === undefined) {
      problems.push(`a label list must follow at token ${open}`);
      return { labels: [], close: open };
    }
    const labels: string[] = [];
    for (let k = open + 1; k < close; k++) {
      const tok = t[k]!;
      if (tok.kind === 'ident') labels.push(tok.text);
      else if (!(tok.kind === 'op' && tok.text === ',')) problems.push(`unexpected ${tok.text} in a label list`);
    }
    return { labels, close };
  };

  const selectors: Selector[] = [];
  const aggregations: Aggregation[] = [];
  const otherLabelLists: string[][] = [];
  const inLabelList = new Set<number>();
  for (let i = 0; i < t.length; i++) {
    const tok = t[i]!;
    if (tok.kind === 'op' && tok.text === '{' && t[i - 1]?.kind !== 'ident') problems.push(`a selector without a metric name at ${tok.at}`);
    if (tok.kind !== 'ident' || inLabelList.has(i)) continue;
    const name = tok.text;
    if (GROUPING.has(name)) {
      if (isOp(i + 1, '(')) {
        const { labels, close } = labelList(i + 1);
        for (let k = i + 1; k <= close; k++) inLabelList.add(k);
        if (name === 'by' || name === 'without') {
          // `sum by (l) (arg)` was read with its aggregation; `sum (arg) by (l)` attaches here.
          const before = t[i - 1];
          if (before?.kind === 'op' && before.text === ')') {
            const agg = aggregations.find((a) => a.close === i - 1);
            if (agg === undefined) problems.push(`${name} (...) after something that is no aggregation`);
            else agg.grouping = { kind: name, labels };
          }
        } else otherLabelLists.push(labels);
      }
      continue;
    }
    if (AGGREGATIONS.has(name)) {
      let grouping: Aggregation['grouping'];
      let open = i + 1;
      if (t[i + 1]?.kind === 'ident' && (t[i + 1]!.text === 'by' || t[i + 1]!.text === 'without')) {
        const { labels, close } = labelList(i + 2);
        for (let k = i + 1; k <= close; k++) inLabelList.add(k);
        grouping = { kind: t[i + 1]!.text, labels };
        open = close + 1;
      }
      const close = match.get(open);
      if (!isOp(open, '(') || close === undefined) problems.push(`${name} without a parenthesised argument`);
      else aggregations.push({ op: name, ...(grouping ? { grouping } : {}), open, close });
      continue;
    }
    if (isOp(i + 1, '(')) {
      if (!FUNCTIONS.has(name)) problems.push(`unknown function ${name}()`);
      continue;
    }
    if (KEYWORDS.has(name)) continue;
    // A metric name: it must carry the job and instance matchers, so `{` must follow.
    const matchers: Matcher[] = [];
    if (isOp(i + 1, '{')) {
      let k = i + 2;
      while (k < t.length && !isOp(k, '}')) {
        const l = t[k];
        const o = t[k + 1];
        const v = t[k + 2];
        if (l?.kind !== 'ident' || o?.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(o.text) || v?.kind !== 'string') {
          problems.push(`a malformed matcher in ${name}{...}`);
          break;
        }
        matchers.push({ label: l.text, op: o.text, value: v.text });
        k += 3;
        if (isOp(k, ',')) k++;
      }
      for (let m = i + 1; m <= k; m++) inLabelList.add(m);
    }
    selectors.push({ metric: name, matchers, index: i });
  }
  return { selectors, aggregations, otherLabelLists, problems };
}

/** Labels of each family, as the exporter renders its series (histograms: _bucket with le, _sum, _count). */
export type SeriesLabels = Map<string, Set<string>>;

export interface DashboardRules {
  /** Label every selector must match with =~ and the variable (e.g. job → "$job"). */
  required: Record<string, string>;
  /** Labels every series has beside its own (added by Prometheus at scrape). */
  targetLabels: string[];
  /** The aggregation every selector must sit in. */
  aggregation: string;
}

/**
 * What is wrong with one dashboard query: a metric not in `series`, a label the metric
 * lacks (in a matcher, by/without, on/ignoring), a selector missing the required
 * matchers or outside the required aggregation, a legend placeholder no grouping keeps,
 * an equality matcher on a value `values` says the metric never has.
 */
export function checkQuery(expr: string, legendFormat: string, series: SeriesLabels, values: Map<string, Map<string, Set<string>>>, rules: DashboardRules): string[] {
  let r: Reading;
  try {
    r = read(expr);
  } catch (e) {
    return [(e as Error).message];
  }
  const problems = [...r.problems];
  const allowed = (metric: string): Set<string> | undefined => {
    const own = series.get(metric);
    return own === undefined ? undefined : new Set([...own, ...rules.targetLabels]);
  };
  if (r.selectors.length === 0) problems.push('no metric selector');
  for (const s of r.selectors) {
    const labels = allowed(s.metric);
    if (labels === undefined) {
      problems.push(`metric ${s.metric} is not exported by cpe-sim (src/metrics/catalog.ts)`);
      continue;
    }
    for (const m of s.matchers) {
      if (!labels.has(m.label)) problems.push(`${s.metric} has no label ${m.label}`);
      const known = values.get(s.metric)?.get(m.label);
      if (m.op === '=' && known !== undefined && known.size > 0 && !known.has(m.value)) problems.push(`${s.metric}{${m.label}} never has the value ${JSON.stringify(m.value)}`);
    }
    for (const [label, variable] of Object.entries(rules.required)) {
      if (!s.matchers.some((m) => m.label === label && m.op === '=~' && m.value === variable)) problems.push(`${s.metric} is not filtered by ${label}=~"${variable}"`);
    }
    if (!r.aggregations.some((a) => a.op === rules.aggregation && a.open < s.index && s.index < a.close)) problems.push(`${s.metric} is not inside a ${rules.aggregation}(...)`);
  }
  const grouped = new Set<string>();
  for (const a of r.aggregations) {
    if (a.grouping === undefined) continue;
    const inside = r.selectors.filter((s) => a.open < s.index && s.index < a.close);
    for (const l of a.grouping.labels) {
      grouped.add(l);
      for (const s of inside) if (allowed(s.metric) !== undefined && !allowed(s.metric)!.has(l)) problems.push(`${a.op} ${a.grouping.kind} (${l}): ${s.metric} has no label ${l}`);
    }
  }
  for (const list of r.otherLabelLists) {
    for (const l of list) for (const s of r.selectors) if (allowed(s.metric) !== undefined && !allowed(s.metric)!.has(l)) problems.push(`on/ignoring (${l}): ${s.metric} has no label ${l}`);
  }
  for (const m of legendFormat.matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)) {
    if (!grouped.has(m[1]!)) problems.push(`legend {{${m[1]}}} is no label the query keeps (by (...))`);
  }
  return problems;
}
