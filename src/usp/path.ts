// USP Path Names (TR-369 "Path Names" and its BNF) over one CPE's data
// model, in three steps: parse (grammar only, 7008), bind to the template (the Supported
// Data Model, 7026), expand over the rows this CPE has (CpeView).
//
// Reference following (`Param+`, `Param#n+`) is not supported: such a path gets 7004
// (Invalid arguments) with a message saying so, rather than 7008, since it is valid syntax.
// Unique-key addressing (`[Alias=="wan"]`) is evaluated as the search expression it is
// written as: a key that matches no row gives an empty result, not an error.
import type { ObjectNode, ParamNode, Template } from '../datamodel/schema.js';
import type { CpeView } from '../datamodel/view.js';
import { canonical, checkLexical, type XsdType } from '../datamodel/values.js';
import { commandsOf, eventsOf, type CommandDef, type EventDef } from './supported.js';

export interface PathError { code: number; message: string }
export type PathResult<T> = { ok: true; value: T } | { ok: false; error: PathError };

const ok = <T>(value: T): PathResult<T> => ({ ok: true, value });
const fail = (code: number, message: string): PathResult<never> => ({ ok: false, error: { code, message } });

export type Operator = '==' | '!=' | '~=' | '<' | '>' | '<=' | '>=';
/** One `<relpath><op><const>` of a search expression; `value` is the decoded constant. */
export interface ExprComp { param: string; op: Operator; value: string; quoted: boolean }
export type InstSel = { kind: 'number'; n: number } | { kind: 'wildcard' } | { kind: 'search'; comps: ExprComp[] };
/** An object name, and the instance selector after it when it names a table's rows. */
export interface PathSeg { name: string; inst?: InstSel }
/** `name` keeps its decoration for commands and events: "Reboot()", "Boot!". */
export interface Leaf { kind: 'param' | 'command' | 'event'; name: string }
export interface ParsedPath {
  text: string;
  segs: PathSeg[];
  /** undefined for an object path (ends in '.'). */
  leaf: Leaf | undefined;
  /** Has a wildcard or a search expression: may match 0..n objects (TR-369 R-GET.1a). */
  search: boolean;
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const COMP = /^\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*(==|!=|~=|<=|>=|<|>)\s*("[^"]*"|[^\s"]+)\s*$/;

export function parsePath(text: string): PathResult<ParsedPath> {
  const bad = (why: string) => fail(7008, `Invalid path syntax "${text}": ${why}`);
  const segs: PathSeg[] = [];
  let i = 0;
  let search = false;
  const name = (): string | undefined => {
    NAME.lastIndex = i;
    const m = NAME.exec(text);
    if (m) i = NAME.lastIndex;
    return m?.[0];
  };
  const root = name();
  if (!root || text[i] !== '.') return bad('a path starts with the root object name and "."');
  i++;
  segs.push({ name: root });
  while (i < text.length) {
    const n = name();
    if (n === undefined) {
      if (text[i] === '{') return bad('"{i}" is Supported Data Model notation; use an instance number, "*" or a search');
      return bad(`unexpected "${text[i]}" at ${i}`);
    }
    const c = text[i];
    if (c === undefined) return ok({ text, segs, leaf: { kind: 'param', name: n }, search });
    if (c === '(') return text.slice(i) === '()' ? ok({ text, segs, leaf: { kind: 'command', name: `${n}()` }, search }) : bad('a command ends in "()"');
    if (c === '!') return i === text.length - 1 ? ok({ text, segs, leaf: { kind: 'event', name: `${n}!` }, search }) : bad('an event ends in "!"');
    if (c === '+' || c === '#') return fail(7004, `Reference following ("${text}") is not supported by this agent`);
    if (c !== '.') return bad(`unexpected "${c}" at ${i}`);
    i++;
    const seg: PathSeg = { name: n };
    segs.push(seg);
    const d = text[i];
    if (d === '*') {
      seg.inst = { kind: 'wildcard' };
      i++;
    } else if (d !== undefined && d >= '0' && d <= '9') {
      const m = /\d+/y;
      m.lastIndex = i;
      const num = m.exec(text)![0];
      if (!/^[1-9]\d{0,9}$/.test(num)) return bad(`instance number ${num} is not in 1..9999999999`);
      seg.inst = { kind: 'number', n: Number(num) };
      i = m.lastIndex;
    } else if (d === '[') {
      const e = parseExpression(text, i);
      if (!e.ok) return e;
      seg.inst = { kind: 'search', comps: e.value.comps };
      i = e.value.end;
    } else {
      continue;
    }
    search ||= seg.inst.kind !== 'number';
    if (text[i] !== '.') return bad('an instance identifier is followed by "."');
    i++;
  }
  return ok({ text, segs, leaf: undefined, search });
}

function parseExpression(text: string, start: number): PathResult<{ comps: ExprComp[]; end: number }> {
  const bad = (why: string) => fail(7008, `Invalid search expression in "${text}": ${why}`);
  const parts: string[] = [];
  let inQuote = false;
  let from = start + 1;
  let j = from;
  for (; j < text.length; j++) {
    const ch = text[j];
    if (ch === '"') inQuote = !inQuote;
    else if (!inQuote && ch === ']') break;
    else if (!inQuote && ch === '&' && text[j + 1] === '&') {
      parts.push(text.slice(from, j));
      from = j + 2;
      j++;
    }
  }
  if (j >= text.length) return bad('no closing "]"');
  parts.push(text.slice(from, j));
  const comps: ExprComp[] = [];
  for (const part of parts) {
    if (/^\s*[A-Za-z_][A-Za-z0-9_.]*[#+]/.test(part)) return fail(7004, `Reference following ("${part.trim()}") is not supported by this agent`);
    const m = COMP.exec(part);
    if (!m) return bad(part.trim() === '' ? 'empty expression' : `"${part.trim()}" is not <parameter><operator><constant> (child tables need their own expression)`);
    const raw = m[3]!;
    const quoted = raw.startsWith('"');
    // TR-369: a quote in a string constant is written %22, a percent sign %25.
    const value = quoted ? raw.slice(1, -1).replace(/%2[25]/gi, (e) => (e === '%22' ? '"' : '%')) : raw;
    comps.push({ param: m[1]!, op: m[2] as Operator, value, quoted });
  }
  return ok({ comps, end: j + 1 });
}

// ---- binding to the supported data model ----

export interface BoundComp { param: ParamNode; rel: string; op: Operator; value: string }
export interface BoundStep { node: ObjectNode; sel: InstSel | undefined; comps: BoundComp[] | undefined }
export type Target =
  | { kind: 'object' }
  | { kind: 'param'; node: ParamNode }
  | { kind: 'command'; def: CommandDef }
  | { kind: 'event'; def: EventDef };
export interface BoundPath { parsed: ParsedPath; steps: BoundStep[]; target: Target }

export function bindPath(template: Template, parsed: ParsedPath): PathResult<BoundPath> {
  const invalid = (why: string) => fail(7026, `Invalid path "${parsed.text}": ${why}`);
  const root = template.root;
  if (parsed.segs[0]!.name !== root.name) return invalid(`the root object is ${root.name}.`);
  const steps: BoundStep[] = [{ node: root, sel: undefined, comps: undefined }];
  let cur = root;
  for (const seg of parsed.segs.slice(1)) {
    if (cur.multi && !steps[steps.length - 1]!.sel) return invalid(`${cur.path} is a table: name its instances (number, "*" or [search]) before ${seg.name}`);
    const c = cur.children.get(seg.name);
    if (!c || c.kind !== 'object') return invalid(`${cur.path}${seg.name}. is not an object of the supported data model`);
    if (seg.inst && !c.multi) return invalid(`${c.path} is not a table`);
    let comps: BoundComp[] | undefined;
    if (seg.inst?.kind === 'search') {
      const b = bindComps(c, seg.inst.comps, parsed.text);
      if (!b.ok) return b;
      comps = b.value;
    }
    steps.push({ node: c, sel: seg.inst, comps });
    cur = c;
  }
  const leaf = parsed.leaf;
  if (!leaf) return ok({ parsed, steps, target: { kind: 'object' } });
  if (cur.multi && !steps[steps.length - 1]!.sel) return invalid(`${cur.path} is a table: name its instances before ${leaf.name}`);
  if (leaf.kind === 'param') {
    const p = cur.children.get(leaf.name);
    return p?.kind === 'param' ? ok({ parsed, steps, target: { kind: 'param', node: p } }) : invalid(`${cur.path}${leaf.name} is not a parameter of the supported data model`);
  }
  if (leaf.kind === 'command') {
    const def = commandsOf(template, cur.path).find((d) => d.name === leaf.name);
    return def ? ok({ parsed, steps, target: { kind: 'command', def } }) : invalid(`${cur.path}${leaf.name} is not a supported command`);
  }
  const ev = eventsOf(template, cur.path).find((d) => d.name === leaf.name);
  return ev ? ok({ parsed, steps, target: { kind: 'event', def: ev } }) : invalid(`${cur.path}${leaf.name} is not a supported event`);
}

const NUMERIC: ReadonlySet<XsdType> = new Set(['int', 'unsignedInt', 'long', 'unsignedLong']);

function bindComps(table: ObjectNode, comps: readonly ExprComp[], text: string): PathResult<BoundComp[]> {
  const out: BoundComp[] = [];
  for (const c of comps) {
    const bad = (why: string) => fail(7008, `Invalid search expression in "${text}": ${c.param}${c.op}: ${why}`);
    const names = c.param.split('.');
    let obj = table;
    for (const n of names.slice(0, -1)) {
      const child = obj.children.get(n);
      if (child?.kind !== 'object') return fail(7026, `Invalid path "${text}": ${obj.path}${n}. is not in the supported data model`);
      if (child.multi) return bad('an expression may not descend into a child table');
      obj = child;
    }
    const p = obj.children.get(names[names.length - 1]!);
    if (p?.kind !== 'param') return fail(7026, `Invalid path "${text}": ${obj.path}${names[names.length - 1]} is not a parameter of the supported data model`);
    const t = p.type;
    const relational = c.op !== '==' && c.op !== '!=' && c.op !== '~=';
    // TR-369 "Searching with Expressions": strings and booleans take only == and !=,
    // ~= is for (comma-separated) lists, the order operators for numbers and dateTime.
    if (relational && !NUMERIC.has(t) && t !== 'dateTime') return bad(`operator ${c.op} is not valid for a ${t}`);
    if (t === 'boolean') {
      if (c.op === '~=') return bad('operator ~= is not valid for a boolean');
      if (c.quoted || !/^(true|false|1|0)$/.test(c.value)) return bad('a boolean constant is unquoted true, false, 1 or 0');
    } else if (NUMERIC.has(t)) {
      if (c.quoted || !/^[+-]?\d+$/.test(c.value)) return bad(`a ${t} constant is an unquoted integer`);
    } else if (t === 'dateTime') {
      if (checkLexical('dateTime', c.value)) return bad('not an xsd:dateTime constant');
    } else if (t === 'string' && !c.quoted) {
      return bad('a string constant is double-quoted');
    }
    out.push({ param: p, rel: c.param, op: c.op, value: c.value });
  }
  return ok(out);
}

// ---- evaluation over one CPE ----

function compareTyped(t: XsdType, a: string, b: string): number | undefined {
  try {
    if (NUMERIC.has(t)) {
      const x = BigInt(a.trim());
      const y = BigInt(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
  } catch {
    return undefined;
  }
  if (t === 'dateTime') {
    const x = Date.parse(a);
    const y = Date.parse(b);
    return Number.isNaN(x) || Number.isNaN(y) ? undefined : Math.sign(x - y);
  }
  if (t === 'boolean') return canonical(t, a) === canonical(t, b) ? 0 : undefined;
  return a === b ? 0 : undefined;
}

function holds(c: BoundComp, actual: string): boolean {
  const t = c.param.type;
  if (c.op === '~=') return actual.split(',').some((item) => compareTyped(t, item.trim(), c.value) === 0);
  const d = compareTyped(t, actual, c.value);
  switch (c.op) {
    case '==': return d === 0;
    case '!=': return d !== 0;
    case '<': return d !== undefined && d < 0;
    case '>': return d !== undefined && d > 0;
    case '<=': return d !== undefined && d <= 0;
    case '>=': return d !== undefined && d >= 0;
  }
}

/** Does row `rowPath` satisfy every component? Hidden values read as "", so secrets cannot be probed. */
export function rowMatches(view: CpeView, comps: readonly BoundComp[], rowPath: string, inst: readonly number[]): boolean {
  return comps.every((c) => holds(c, view.wireValue(c.param, rowPath + c.rel, inst)));
}

export interface ObjectMatch { kind: 'object' | 'row' | 'table'; node: ObjectNode; path: string; inst: number[] }
export interface Resolution { bound: BoundPath; objects: ObjectMatch[] }

/** Parse, bind and expand: the objects the path's object part names on this CPE (its leaf is in `bound.target`). */
export function resolvePath(view: CpeView, path: string | ParsedPath): PathResult<Resolution> {
  const p = typeof path === 'string' ? parsePath(path) : ok(path);
  if (!p.ok) return p;
  const b = bindPath(view.template, p.value);
  if (!b.ok) return b;
  const steps = b.value.steps;
  let frontier: Array<{ path: string; inst: number[] }> = [{ path: `${steps[0]!.node.name}.`, inst: [] }];
  for (const step of steps.slice(1)) {
    const next: typeof frontier = [];
    for (const f of frontier) {
      const at = `${f.path}${step.node.name}.`;
      if (!step.sel) {
        next.push({ path: at, inst: f.inst });
        continue;
      }
      for (const n of view.rows(step.node, at, f.inst)) {
        if (step.sel.kind === 'number' && n !== step.sel.n) continue;
        const inst = [...f.inst, n];
        if (step.comps && !rowMatches(view, step.comps, `${at}${n}.`, inst)) continue;
        next.push({ path: `${at}${n}.`, inst });
      }
    }
    frontier = next;
  }
  const last = steps[steps.length - 1]!;
  const kind = !last.node.multi ? 'object' : last.sel ? 'row' : 'table';
  return ok({ bound: b.value, objects: frontier.map((f) => ({ kind, node: last.node, path: f.path, inst: f.inst })) });
}

/**
 * Visit `start` and every object below it, depth first in declaration order. A table is
 * expanded to its rows at the table's own level (TR-369 Get max_depth counts
 * `TemperatureSensor.{i}.` as one level). Return false from `visit` to skip an object's children.
 */
export function walkObjects(view: CpeView, start: ObjectMatch, visit: (o: ObjectMatch, level: number) => boolean): void {
  const go = (o: ObjectMatch, level: number): void => {
    if (o.kind === 'table') {
      for (const n of view.rows(o.node, o.path, o.inst)) go({ kind: 'row', node: o.node, path: `${o.path}${n}.`, inst: [...o.inst, n] }, level);
      return;
    }
    if (!visit(o, level)) return;
    for (const c of o.node.childList) {
      if (c.kind === 'object') go({ kind: c.multi ? 'table' : 'object', node: c, path: `${o.path}${c.name}.`, inst: o.inst }, level + 1);
    }
  };
  go(start, 1);
}

export interface ParamMatch { node: ParamNode; path: string; objPath: string; inst: number[] }

/** Objects named by an object path; a path with a leaf is 7026 here. */
export function resolveObjects(view: CpeView, path: string | ParsedPath): PathResult<ObjectMatch[]> {
  const r = resolvePath(view, path);
  if (!r.ok) return r;
  if (r.value.bound.target.kind !== 'object') return fail(7026, `Invalid path "${r.value.bound.parsed.text}": not an object path`);
  return ok(r.value.objects);
}

/** The parameter a parameter path names on each matched object, or every parameter at and below an object path. */
export function resolveParams(view: CpeView, path: string | ParsedPath): PathResult<ParamMatch[]> {
  const r = resolvePath(view, path);
  if (!r.ok) return r;
  const { bound, objects } = r.value;
  const t = bound.target;
  if (t.kind === 'param') return ok(objects.map((o) => ({ node: t.node, path: o.path + t.node.name, objPath: o.path, inst: o.inst })));
  if (t.kind !== 'object') return fail(7026, `Invalid path "${bound.parsed.text}": not an object or parameter path`);
  const out: ParamMatch[] = [];
  for (const o of objects) {
    walkObjects(view, o, (m) => {
      for (const c of m.node.childList) if (c.kind === 'param') out.push({ node: c, path: m.path + c.name, objPath: m.path, inst: m.inst });
      return true;
    });
  }
  return ok(out);
}

export interface CommandMatch { def: CommandDef; path: string; objPath: string; inst: number[] }

/** For Operate: the concrete commands a command path (possibly a search) names on this CPE. */
export function resolveCommands(view: CpeView, path: string | ParsedPath): PathResult<CommandMatch[]> {
  const r = resolvePath(view, path);
  if (!r.ok) return r;
  const t = r.value.bound.target;
  if (t.kind !== 'command') return fail(7026, `Invalid path "${r.value.bound.parsed.text}": not a command path`);
  return ok(r.value.objects.map((o) => ({ def: t.def, path: o.path + t.def.name, objPath: o.path, inst: o.inst })));
}

/**
 * Does concrete path `concrete` (instance numbers only: an object, parameter, command or
 * event path) fall under reference path `ref` (a Subscription ReferenceList entry)?
 * `*` matches any instance; an object path matches itself and everything below it
 * (docs/usp-behaviour.md); a parameter, command or event path matches only itself. A search
 * expression needs `view` to read the row's values; without it the answer is false.
 */
export function matchesReference(ref: string | ParsedPath, concrete: string, view?: CpeView): boolean {
  const p = typeof ref === 'string' ? parsePath(ref) : ok(ref);
  if (!p.ok) return false;
  const parsed = p.value;
  const c = splitConcrete(concrete);
  let bound: BoundPath | undefined;
  let j = 0;
  for (const [k, seg] of parsed.segs.entries()) {
    if (c.parts[j++] !== seg.name) return false;
    if (!seg.inst) continue;
    const num = c.parts[j];
    if (num === undefined || !/^[1-9]\d*$/.test(num)) return false;
    j++;
    if (seg.inst.kind === 'number' && Number(num) !== seg.inst.n) return false;
    if (seg.inst.kind === 'search') {
      if (!view) return false;
      if (!bound) {
        const b = bindPath(view.template, parsed);
        if (!b.ok) return false;
        bound = b.value;
      }
      const head = c.parts.slice(0, j);
      const inst = head.filter((s) => /^\d+$/.test(s)).map(Number);
      if (!rowMatches(view, bound.steps[k]!.comps!, `${head.join('.')}.`, inst)) return false;
    }
  }
  if (!parsed.leaf) return true;
  return j === c.parts.length && c.leaf?.kind === parsed.leaf.kind && c.leaf.name === parsed.leaf.name;
}

function splitConcrete(path: string): { parts: string[]; leaf: Leaf | undefined } {
  if (path.endsWith('.')) return { parts: path.slice(0, -1).split('.'), leaf: undefined };
  const dot = path.lastIndexOf('.');
  const name = path.slice(dot + 1);
  const kind = name.endsWith('()') ? 'command' : name.endsWith('!') ? 'event' : 'param';
  return { parts: dot < 0 ? [] : path.slice(0, dot).split('.'), leaf: { kind, name } };
}
