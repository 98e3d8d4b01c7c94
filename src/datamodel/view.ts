// One CPE's data model: the shared template seen through that CPE's overlay and
// evaluation context. Created per operation; holds nothing between operations.
// Protocol-neutral: it resolves, reads, checks and writes; what a refusal means on the
// wire (CWMP 9xxx faults in src/cwmp/rpc/params.ts, USP 7xxx errors in src/usp/handlers/)
// is each protocol's business.
import { intBetween, mix32 } from '../util/hash.js';
import type { EvalContext } from './context.js';
import { DEFAULT_MAX_STRING_LENGTH } from './limits.js';
import { emptyOverlay, purgePrefix, type Attr, type Overlay, type TableRows } from './overlay.js';
import type { ObjectNode, ParamNode, Template } from './schema.js';
import { canonical, checkLexical } from './values.js';

export type Resolved =
  | { kind: 'param'; node: ParamNode; inst: number[]; path: string }
  | { kind: 'object'; node: ObjectNode; inst: number[]; path: string }
  | { kind: 'table'; node: ObjectNode; inst: number[]; path: string }
  | { kind: 'row'; node: ObjectNode; inst: number[]; path: string };

/** One concrete parameter: its node, concrete path and row numbers. */
export interface ParamRef {
  node: ParamNode;
  path: string;
  inst: number[];
}

/** Why a write is refused, whatever the protocol; each maps these to its own codes. */
export type Refusal =
  /** No parameter at that path. */
  | { kind: 'unknown' }
  | { kind: 'readOnly' }
  /** Not a lexical form of the parameter's xsd type. */
  | { kind: 'type'; reason: string }
  /** Breaks the parameter's enum, range or maxLength. */
  | { kind: 'range'; reason: string };

/**
 * A device's own rule on top of a parameter's type, enum and range (TR-143: DiagnosticsState
 * may only be written as Requested or Canceled): a refusal, or undefined to let it through.
 */
export type WriteRule = (path: string, value: string) => Refusal | undefined;

export type WriteCheck = { ok: true; value: string } | { ok: false; refusal: Refusal };

const ROW_NUMBER = /^[1-9]\d{0,9}$/;

/**
 * Per template: parameters outside every table, by path, as resolve() found them. Such a
 * path resolves the same for every CPE (only rows differ between CPEs), so a hit skips the
 * walk. Filled on demand with the paths read by name (the Inform's, STUN's, those an ACS
 * names): at most the template's parameters outside tables, one entry each.
 */
const fixedParams = new WeakMap<Template, Map<string, ParamNode>>();

export class CpeView {
  constructor(
    readonly template: Template,
    readonly ctx: EvalContext,
    /** May be replaced by a fresh overlay on the first write; read it back after writes. */
    public overlay: Overlay | undefined,
    /** Values fixed for this CPE by a fleet-wide rule (a scenario's new periodic interval): under the overlay, over the template. */
    private readonly fixed?: ReadonlyMap<string, string>,
  ) {}

  private writable(): Overlay {
    if (!this.overlay) this.overlay = emptyOverlay();
    return this.overlay;
  }

  // ---- rows ----

  private defaultRows(table: ObjectNode, inst: readonly number[]): number[] {
    const { min, max } = table.instances;
    let salt = table.salt;
    for (const n of inst) salt = mix32(salt, n);
    const count = min === max ? min : intBetween(this.ctx.seed, this.ctx.index, salt, min, max);
    const rows = new Array<number>(count);
    for (let k = 0; k < count; k++) rows[k] = k + 1;
    return rows;
  }

  /** Live rows of the table at concrete path `key` (ends in '.'). */
  rows(table: ObjectNode, key: string, inst: readonly number[]): readonly number[] {
    return this.overlay?.tables?.get(key)?.rows ?? this.defaultRows(table, inst);
  }

  // ---- resolution ----

  resolve(path: string): Resolved | undefined {
    let known = fixedParams.get(this.template);
    const hit = known?.get(path);
    if (hit) return { kind: 'param', node: hit, inst: [], path };
    const r = this.walk(path);
    if (r?.kind === 'param' && r.inst.length === 0) {
      if (!known) fixedParams.set(this.template, (known = new Map()));
      // Keyed by the template's own string: `path` may be a slice of a whole SOAP body, which
      // as a Map key would keep that body alive. Without rows the two are the same text.
      known.set(r.node.path, r.node);
    }
    return r;
  }

  private walk(path: string): Resolved | undefined {
    const root = this.template.root;
    const isObj = path.endsWith('.');
    const segs = (isObj ? path.slice(0, -1) : path).split('.');
    if (segs[0] !== root.name) return undefined;
    let cur: ObjectNode = root;
    let atTable = false;
    let prefix = `${root.name}.`;
    const inst: number[] = [];
    for (let k = 1; k < segs.length; k++) {
      const seg = segs[k]!;
      if (atTable) {
        if (!ROW_NUMBER.test(seg)) return undefined;
        const n = Number(seg);
        if (!this.rows(cur, prefix, inst).includes(n)) return undefined;
        inst.push(n);
        prefix += `${seg}.`;
        atTable = false;
        continue;
      }
      const child = cur.children.get(seg);
      if (!child) return undefined;
      if (child.kind === 'param') {
        if (isObj || k !== segs.length - 1) return undefined;
        return { kind: 'param', node: child, inst, path };
      }
      cur = child;
      prefix += `${seg}.`;
      atTable = child.multi;
    }
    if (!isObj) return undefined;
    if (atTable) return { kind: 'table', node: cur, inst, path: prefix };
    if (cur.multi) return { kind: 'row', node: cur, inst, path: prefix };
    return { kind: 'object', node: cur, inst, path: prefix };
  }

  // ---- values ----

  private salt(p: ParamNode, inst: readonly number[]): number {
    let s = p.salt;
    for (const n of inst) s = mix32(s, n);
    return s;
  }

  /** The real value (secrets included), as the CPE itself uses it. */
  rawValue(p: ParamNode, path: string, inst: readonly number[]): string {
    const set = this.overlay?.values?.get(path) ?? this.fixed?.get(path);
    if (set !== undefined) return set;
    if (p.counts) {
      const parent = path.slice(0, path.length - p.name.length);
      return String(this.rows(p.counts, `${parent}${p.counts.name}.`, inst).length);
    }
    if (p.gen) return p.gen(this.ctx, this.salt(p, inst));
    return p.value(this.ctx, inst, this.salt(p, inst));
  }

  /** The value as an ACS reads it: secrets read as "" (TR-098/TR-181 hidden parameters). */
  wireValue(p: ParamNode, path: string, inst: readonly number[]): string {
    return p.hidden ? '' : this.rawValue(p, path, inst);
  }

  /** Read one parameter by concrete path; undefined when it does not exist. */
  get(path: string): string | undefined {
    const r = this.resolve(path);
    return r?.kind === 'param' ? this.rawValue(r.node, path, r.inst) : undefined;
  }

  // ---- walks ----

  /** Visit every parameter at or below the resolved object, in declaration order. */
  private walkParams(obj: ObjectNode, prefix: string, inst: number[], atTable: boolean, visit: (p: ParamNode, path: string, inst: number[]) => void): void {
    if (atTable) {
      for (const n of this.rows(obj, prefix, inst)) {
        inst.push(n);
        this.walkParams(obj, `${prefix}${n}.`, inst, false, visit);
        inst.pop();
      }
      return;
    }
    for (const child of obj.childList) {
      if (child.kind === 'param') visit(child, prefix + child.name, inst);
      else this.walkParams(child, `${prefix}${child.name}.`, inst, child.multi, visit);
    }
  }

  /**
   * Every parameter at or below `under` (the whole tree when undefined; `under` itself when
   * it is a parameter), in declaration order, appended to `out`.
   */
  params(under: Resolved | undefined, out: ParamRef[] = []): ParamRef[] {
    const collect = (p: ParamNode, path: string, inst: number[]) => out.push({ node: p, path, inst: inst.slice() });
    if (under === undefined) this.walkParams(this.template.root, `${this.template.root.name}.`, [], false, collect);
    else if (under.kind === 'param') out.push({ node: under.node, path: under.path, inst: under.inst });
    else this.walkParams(under.node, under.path, under.inst.slice(), under.kind === 'table', collect);
    return out;
  }

  /**
   * How many parameters (and objects too, with `withObjects`) lie at or below `under`
   * (the whole tree when undefined), counting no further than `budget` + 1: what an
   * answer would carry, known before it is built (src/datamodel/limits.ts).
   */
  countBelow(under: Resolved | undefined, budget: number, withObjects = false): number {
    let n = 0;
    const walk = (obj: ObjectNode, prefix: string, inst: number[], atTable: boolean): void => {
      if (atTable) {
        for (const r of this.rows(obj, prefix, inst)) {
          if (withObjects) n++;
          if (n > budget) return;
          inst.push(r);
          walk(obj, `${prefix}${r}.`, inst, false);
          inst.pop();
          if (n > budget) return;
        }
        return;
      }
      for (const child of obj.childList) {
        if (child.kind === 'param') n++;
        else {
          if (withObjects) n++;
          walk(child, `${prefix}${child.name}.`, inst, child.multi);
        }
        if (n > budget) return;
      }
    };
    if (under === undefined) walk(this.template.root, `${this.template.root.name}.`, [], false);
    else if (under.kind === 'param') n = 1;
    else walk(under.node, under.path, under.inst.slice(), under.kind === 'table');
    return n;
  }

  /** Concrete paths of every existing instance of a schema object path with `{i}`. */
  instancesOf(schemaPath: string): Array<{ path: string; inst: number[] }> {
    const segs = schemaPath.slice(0, -1).split('.');
    let frontier: Array<{ path: string; inst: number[]; node: ObjectNode }> = [
      { path: `${segs[0]}.`, inst: [], node: this.template.root },
    ];
    for (let k = 1; k < segs.length; k++) {
      const seg = segs[k]!;
      const next: typeof frontier = [];
      for (const f of frontier) {
        if (seg === '{i}') {
          for (const n of this.rows(f.node, f.path, f.inst)) next.push({ path: `${f.path}${n}.`, inst: [...f.inst, n], node: f.node });
        } else {
          const c = f.node.children.get(seg);
          if (c && c.kind === 'object') next.push({ path: `${f.path}${seg}.`, inst: f.inst, node: c });
        }
      }
      frontier = next;
    }
    return frontier;
  }

  // ---- checked writes ----

  /** Would writing `value` to the parameter at `path` be accepted? The canonical value when so. */
  checkSet(path: string, value: string): WriteCheck {
    const r = this.resolve(path);
    if (!r || r.kind !== 'param') return { ok: false, refusal: { kind: 'unknown' } };
    return checkWrite(r.node, value);
  }

  /**
   * Set parameters all or nothing: every write is checked (exists, writable, type, range)
   * before any is made. The refusals, in order, with the index of the write each refuses;
   * empty when every value was written.
   */
  setValues(writes: ReadonlyArray<{ path: string; value: string }>, rule?: WriteRule): Array<{ index: number; refusal: Refusal }> {
    const refused: Array<{ index: number; refusal: Refusal }> = [];
    const apply: Array<[string, string]> = [];
    writes.forEach((w, index) => {
      const c = this.checkSet(w.path, w.value);
      const extra = c.ok && rule ? rule(w.path, c.value) : undefined;
      if (c.ok && !extra) apply.push([w.path, c.value]);
      else refused.push({ index, refusal: c.ok ? extra! : c.refusal });
    });
    if (refused.length > 0) return refused;
    const o = this.writable();
    o.values ??= new Map();
    for (const [name, v] of apply) o.values.set(name, v);
    return refused;
  }

  // ---- attributes ----

  /** The attributes of a parameter: the overlay's, else the template's defaults. */
  attribute(p: ParamNode, path: string): Attr {
    return this.overlay?.attrs?.get(path) ?? { notification: p.notify, accessList: [] };
  }

  /** Store attributes; one equal to the template's defaults is dropped from the overlay. */
  setAttributes(changes: ReadonlyArray<{ node: ParamNode; path: string; attr: Attr }>): void {
    for (const { node, path, attr: a } of changes) {
      const isDefault = a.notification === node.notify && a.accessList.length === 0;
      if (isDefault) {
        this.overlay?.attrs?.delete(path);
      } else {
        const o = this.writable();
        o.attrs ??= new Map();
        o.attrs.set(path, a);
      }
    }
  }

  // ---- table state ----

  private tableState(table: ObjectNode, key: string, inst: readonly number[]): TableRows {
    const o = this.writable();
    o.tables ??= new Map();
    let t = o.tables.get(key);
    if (!t) {
      const rows = this.defaultRows(table, inst);
      t = { rows, next: (rows[rows.length - 1] ?? 0) + 1 };
      o.tables.set(key, t);
    }
    return t;
  }

  // ---- changes the device itself makes (no access checks, no ParameterKey) ----

  /** Add a row to a table the ACS may not write (SoftwareModules...); returns its number. */
  deviceAddRow(tablePath: string, values: Record<string, string>): number | undefined {
    const r = this.resolve(tablePath);
    if (!r || r.kind !== 'table') return undefined;
    const t = this.tableState(r.node, r.path, r.inst);
    const n = t.next++;
    t.rows.push(n);
    const o = this.overlay!;
    // Tables inside a new row start empty; template row counts apply to the rows a CPE boots with.
    for (const c of r.node.childList) if (c.kind === 'object' && c.multi) o.tables!.set(`${r.path}${n}.${c.name}.`, { rows: [], next: 1 });
    for (const [k, v] of Object.entries(values)) this.deviceSet(`${r.path}${n}.${k}`, v);
    return n;
  }

  deviceSet(path: string, value: string): boolean {
    const r = this.resolve(path);
    if (!r || r.kind !== 'param') return false;
    const o = this.writable();
    o.values ??= new Map();
    o.values.set(path, canonical(r.node.type, value));
    return true;
  }

  deviceDeleteRow(rowPath: string): boolean {
    const r = this.resolve(rowPath);
    if (!r || r.kind !== 'row') return false;
    const n = r.inst[r.inst.length - 1]!;
    const t = this.tableState(r.node, rowPath.slice(0, rowPath.length - `${n}.`.length), r.inst.slice(0, -1));
    t.rows = t.rows.filter((x) => x !== n);
    purgePrefix(this.overlay!, rowPath);
    return true;
  }

  /**
   * The number the next row added to the table at `tablePath` (ends in '.') will get,
   * without adding it: lets a USP Add validate a row (unique keys, defaults that
   * depend on the row number) before anything is written (TR-369 R-ADD.1).
   */
  peekNextRow(tablePath: string): number | undefined {
    const r = this.resolve(tablePath);
    if (!r || r.kind !== 'table') return undefined;
    const t = this.overlay?.tables?.get(r.path);
    if (t) return t.next;
    const rows = this.defaultRows(r.node, r.inst);
    return (rows[rows.length - 1] ?? 0) + 1;
  }
}

/** Why canonical value `v` breaks `p`'s enum, range or maxLength; undefined when it fits. */
export function outOfRange(p: ParamNode, v: string): string | undefined {
  if (p.enumValues && !p.enumValues.includes(v)) return `"${v}" is not one of ${p.enumValues.join(', ')}`;
  if (p.range) {
    const n = Number(v);
    if (n < p.range[0] || n > p.range[1]) return `${v} is outside [${p.range[0]}, ${p.range[1]}]`;
  }
  const max = maxLengthOf(p);
  if (max !== undefined && v.length > max) return `longer than ${max} characters`;
  return undefined;
}

/**
 * The longest value `p` takes: its profile's maxLength (TR-106 string(N)), else for the
 * string-like types DEFAULT_MAX_STRING_LENGTH; numbers, booleans and dates have none.
 */
export function maxLengthOf(p: ParamNode): number | undefined {
  if (p.maxLength !== undefined) return p.maxLength;
  return p.type === 'string' || p.type === 'base64' || p.type === 'hexBinary' ? DEFAULT_MAX_STRING_LENGTH : undefined;
}

/** Check a write of `value` to `p`, in this order: writable, lexical form of its type, enum/range/maxLength. */
export function checkWrite(p: ParamNode, value: string): WriteCheck {
  if (!p.writable) return { ok: false, refusal: { kind: 'readOnly' } };
  const bad = checkLexical(p.type, value);
  if (bad) return { ok: false, refusal: { kind: 'type', reason: bad } };
  const v = canonical(p.type, value);
  const why = outOfRange(p, v);
  if (why) return { ok: false, refusal: { kind: 'range', reason: why } };
  return { ok: true, value: v };
}
