// One CPE's data model: the shared template seen through that CPE's overlay and
// evaluation context. Created per operation; holds nothing between operations.
import type { CwmpFault, ParameterAttribute, ParameterInfo, ParameterValue, SetParameterAttributesStruct, SetParameterValuesFault } from '../cwmp/types.js';
import type { EvalContext } from '../profile/templates.js';
import { intBetween, mix32 } from '../util/hash.js';
import { emptyOverlay, purgePrefix, type Attr, type Overlay, type TableRows } from './overlay.js';
import type { ObjectNode, ParamNode, Template } from './schema.js';
import { canonical, checkLexical } from './values.js';

export type Resolved =
  | { kind: 'param'; node: ParamNode; inst: number[]; path: string }
  | { kind: 'object'; node: ObjectNode; inst: number[]; path: string }
  | { kind: 'table'; node: ObjectNode; inst: number[]; path: string }
  | { kind: 'row'; node: ObjectNode; inst: number[]; path: string };

export type Result<T> = { ok: true; value: T } | { ok: false; fault: CwmpFault };

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = (code: number, message: string, spv?: SetParameterValuesFault[]): Result<never> => ({
  ok: false,
  fault: spv ? { code, message, setParameterValuesFaults: spv } : { code, message },
});

const ROW_NUMBER = /^[1-9]\d{0,9}$/;

export class CpeView {
  constructor(
    readonly template: Template,
    readonly ctx: EvalContext,
    /** May be replaced by a fresh overlay on the first write; read it back after writes. */
    public overlay: Overlay | undefined,
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
    const set = this.overlay?.values?.get(path);
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

  private walkNames(obj: ObjectNode, prefix: string, inst: number[], atTable: boolean, out: ParameterInfo[]): void {
    if (atTable) {
      for (const n of this.rows(obj, prefix, inst)) {
        out.push({ name: `${prefix}${n}.`, writable: obj.writable });
        inst.push(n);
        this.walkNames(obj, `${prefix}${n}.`, inst, false, out);
        inst.pop();
      }
      return;
    }
    for (const child of obj.childList) {
      if (child.kind === 'param') {
        out.push({ name: prefix + child.name, writable: child.writable });
      } else {
        const p = `${prefix}${child.name}.`;
        out.push({ name: p, writable: child.multi && child.writable });
        this.walkNames(child, p, inst, child.multi, out);
      }
    }
  }

  /** Expand a name list (full and partial paths, "" = everything) to parameters. */
  expand(names: readonly string[]): Result<Array<{ node: ParamNode; path: string; inst: number[] }>> {
    const out: Array<{ node: ParamNode; path: string; inst: number[] }> = [];
    const collect = (p: ParamNode, path: string, inst: number[]) => out.push({ node: p, path, inst: inst.slice() });
    for (const name of names) {
      if (name === '') {
        this.walkParams(this.template.root, `${this.template.root.name}.`, [], false, collect);
        continue;
      }
      const r = this.resolve(name);
      if (!r) return fail(9005, `Invalid parameter name: ${name}`);
      if (r.kind === 'param') out.push({ node: r.node, path: r.path, inst: r.inst });
      else this.walkParams(r.node, r.path, r.inst.slice(), r.kind === 'table', collect);
    }
    return ok(out);
  }

  // ---- RPC semantics (TR-069 A.3.2) ----

  getParameterValues(names: readonly string[]): Result<ParameterValue[]> {
    const ex = this.expand(names);
    if (!ex.ok) return ex;
    return ok(ex.value.map(({ node, path, inst }) => ({ name: path, value: this.wireValue(node, path, inst), type: node.type })));
  }

  getParameterNames(path: string, nextLevel: boolean): Result<ParameterInfo[]> {
    const root = this.template.root;
    if (path === '') {
      const out: ParameterInfo[] = [{ name: `${root.name}.`, writable: false }];
      if (!nextLevel) this.walkNames(root, `${root.name}.`, [], false, out);
      return ok(out);
    }
    const r = this.resolve(path);
    if (!r) return fail(9005, `Invalid parameter name: ${path}`);
    if (r.kind === 'param') {
      // TR-069 A.3.2.3: NextLevel true with a full parameter name is invalid
      if (nextLevel) return fail(9003, 'NextLevel is true but ParameterPath names a parameter');
      return ok([{ name: r.path, writable: r.node.writable }]);
    }
    const all: ParameterInfo[] = [];
    this.walkNames(r.node, r.path, r.inst.slice(), r.kind === 'table', all);
    if (!nextLevel) {
      const self: ParameterInfo = { name: r.path, writable: r.kind === 'table' || r.kind === 'row' ? r.node.writable : false };
      return ok([self, ...all]);
    }
    // Immediate children only: names one level below r.path.
    const depth = r.path.split('.').length;
    return ok(all.filter((i) => i.name.split('.').length === (i.name.endsWith('.') ? depth + 1 : depth)));
  }

  setParameterValues(params: readonly ParameterValue[], parameterKey: string): Result<0> {
    const faults: SetParameterValuesFault[] = [];
    const seen = new Set<string>();
    const apply: Array<[string, string]> = [];
    for (const pv of params) {
      if (seen.has(pv.name)) return fail(9003, `Parameter ${pv.name} appears more than once`);
      seen.add(pv.name);
      const r = this.resolve(pv.name);
      if (!r || r.kind !== 'param') {
        faults.push({ name: pv.name, code: 9005, message: 'Invalid parameter name' });
        continue;
      }
      const p = r.node;
      if (!p.writable) {
        faults.push({ name: pv.name, code: 9008, message: 'Attempt to set a non-writable parameter' });
        continue;
      }
      const bad = checkLexical(p.type, pv.value);
      if (bad) {
        faults.push({ name: pv.name, code: 9006, message: `Invalid parameter type: ${bad}` });
        continue;
      }
      const v = canonical(p.type, pv.value);
      const why = outOfRange(p, v);
      if (why) {
        faults.push({ name: pv.name, code: 9007, message: `Invalid parameter value: ${why}` });
        continue;
      }
      apply.push([pv.name, v]);
    }
    // TR-069 A.3.2.1: all or nothing; one SetParameterValuesFault per bad parameter
    if (faults.length > 0) return fail(9003, 'Invalid arguments', faults);
    const o = this.writable();
    o.values ??= new Map();
    for (const [name, v] of apply) o.values.set(name, v);
    this.setParameterKey(parameterKey);
    return ok(0);
  }

  private setParameterKey(key: string): void {
    const path = `${this.template.rootName}.ManagementServer.ParameterKey`;
    if (!this.template.root.children.get('ManagementServer')) return;
    const o = this.writable();
    o.values ??= new Map();
    o.values.set(path, key);
  }

  private attrOf(p: ParamNode, path: string): Attr {
    return this.overlay?.attrs?.get(path) ?? { notification: p.notify, accessList: [] };
  }

  getParameterAttributes(names: readonly string[]): Result<ParameterAttribute[]> {
    const ex = this.expand(names);
    if (!ex.ok) return ex;
    return ok(ex.value.map(({ node, path }) => {
      const a = this.attrOf(node, path);
      return { name: path, notification: a.notification, accessList: a.accessList };
    }));
  }

  setParameterAttributes(structs: readonly SetParameterAttributesStruct[]): Result<void> {
    const changes: Array<[ParamNode, string, Attr]> = [];
    for (const s of structs) {
      const ex = this.expand([s.name]);
      if (!ex.ok) return ex;
      if (s.notificationChange && !(s.notification >= 0 && s.notification <= 6)) return fail(9003, `Notification ${s.notification} is not 0..6`);
      if (s.accessListChange && s.accessList.some((a) => a !== 'Subscriber')) return fail(9003, 'AccessList may only hold "Subscriber"');
      for (const { node, path } of ex.value) {
        const cur = this.attrOf(node, path);
        const next: Attr = {
          notification: s.notificationChange ? s.notification : cur.notification,
          accessList: s.accessListChange ? [...s.accessList] : cur.accessList,
        };
        if (s.notificationChange) {
          // TR-069 A.3.2.4 (docs/cwmp-behaviour.md): canDeny parameters may refuse active notification;
          // forceEnabled ones stay active whatever is asked.
          // Active kinds: 2 active, 5 active lightweight, 6 passive + active lightweight.
          if (node.activeNotify === 'canDeny' && (s.notification === 2 || s.notification === 5 || s.notification === 6)) {
            return fail(9009, `Notification request rejected: active notification is not allowed on ${path}`);
          }
          if (node.activeNotify === 'forceEnabled' && s.notification !== 2) {
            return fail(9009, `Notification request rejected: ${path} is always active`);
          }
        }
        changes.push([node, path, next]);
      }
    }
    for (const [node, path, a] of changes) {
      const isDefault = a.notification === node.notify && a.accessList.length === 0;
      if (isDefault) {
        this.overlay?.attrs?.delete(path);
      } else {
        const o = this.writable();
        o.attrs ??= new Map();
        o.attrs.set(path, a);
      }
    }
    return ok(undefined);
  }

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

  addObject(objectName: string, parameterKey: string): Result<number> {
    const r = this.resolve(objectName);
    if (!r || r.kind !== 'table') return fail(9005, `Invalid parameter name: ${objectName} is not a table`);
    if (!r.node.writable) return fail(9005, `Invalid parameter name: rows of ${objectName} cannot be added`);
    const t = this.tableState(r.node, r.path, r.inst);
    const n = t.next++;
    t.rows.push(n);
    // Tables inside a new row start empty; template row counts apply to the rows a CPE boots with.
    const rowPath = `${r.path}${n}.`;
    for (const c of r.node.childList) {
      if (c.kind === 'object' && c.multi) this.overlay!.tables!.set(`${rowPath}${c.name}.`, { rows: [], next: 1 });
    }
    this.setParameterKey(parameterKey);
    return ok(n);
  }

  deleteObject(objectName: string, parameterKey: string): Result<0> {
    const r = this.resolve(objectName);
    if (!r || r.kind !== 'row') return fail(9005, `Invalid parameter name: ${objectName} is not a row`);
    if (!r.node.writable) return fail(9005, `Invalid parameter name: rows of ${objectName.replace(/\d+\.$/, '')} cannot be deleted`);
    const n = r.inst[r.inst.length - 1]!;
    const tableKey = r.path.slice(0, r.path.length - `${n}.`.length);
    const t = this.tableState(r.node, tableKey, r.inst.slice(0, -1));
    t.rows = t.rows.filter((x) => x !== n);
    purgePrefix(this.overlay!, r.path);
    this.setParameterKey(parameterKey);
    return ok(0);
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

  /** Forced-inform parameters (TR-069 A.3.3.1), expanded over existing rows. */
  forcedInform(): ParameterValue[] {
    const out: ParameterValue[] = [];
    for (const p of this.template.forcedInform) {
      if (!p.path.includes('{i}')) {
        out.push({ name: p.path, value: this.wireValue(p, p.path, []), type: p.type });
        continue;
      }
      const objPath = p.path.slice(0, p.path.length - p.name.length);
      const ex = this.expandSchema(objPath);
      for (const { path, inst } of ex) {
        const full = path + p.name;
        out.push({ name: full, value: this.wireValue(p, full, inst), type: p.type });
      }
    }
    return out;
  }

  /** Concrete paths of every existing instance of a schema object path with `{i}`. */
  private expandSchema(schemaPath: string): Array<{ path: string; inst: number[] }> {
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
}

/** Why canonical value `v` breaks `p`'s enum, range or maxLength; undefined when it fits. */
export function outOfRange(p: ParamNode, v: string): string | undefined {
  if (p.enumValues && !p.enumValues.includes(v)) return `"${v}" is not one of ${p.enumValues.join(', ')}`;
  if (p.range) {
    const n = Number(v);
    if (n < p.range[0] || n > p.range[1]) return `${v} is outside [${p.range[0]}, ${p.range[1]}]`;
  }
  if (p.maxLength !== undefined && v.length > p.maxLength) return `longer than ${p.maxLength} characters`;
  return undefined;
}
