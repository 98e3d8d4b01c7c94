// `{{...}}` value templates (docs/profiles.md "Templates"), compiled once per shard
// into closures that are evaluated per CPE and row only when a value is read.
import { hexDigits, intBetween } from '../util/hash.js';
import type { PoolsSpec } from './types.js';
import { formatMac, ipv4At, ipv6At } from './identity.js';

export interface ResolvedIdentity {
  serial: string;
  oui: string;
  manufacturer: string;
  productClass: string;
  modelName: string;
  hardwareVersion: string;
  softwareVersion: string;
}

/** What a template or generator may read about the CPE it is evaluated for. */
export interface EvalContext {
  seed: number;
  index: number;
  identity: ResolvedIdentity;
  pools: PoolsSpec;
  /** ms since epoch */
  now: number;
  /** ms since epoch of the CPE's last boot */
  bootAt: number;
  crUrl(): string;
  /** The ACS this fleet was started against (defaults of ManagementServer.URL/Username/Password). */
  acs: { url: string; username: string; password: string };
}

/** (ctx, row numbers from the outermost table in, salt of the concrete parameter) */
export type ValueFn = (ctx: EvalContext, inst: readonly number[], salt: number) => string;

type Arg = { k: 'num'; v: number } | { k: 'str'; v: string } | { k: 'row'; depth: number } | { k: 'ident'; v: string };
type Part = string | ValueFn;

const IDENTITY_KEYS = new Set(['serial', 'oui', 'manufacturer', 'productClass', 'modelName', 'hardwareVersion', 'softwareVersion']);

/** Throws Error with a precise message; the caller prefixes file and key. */
export function compileTemplate(src: string, tableDepth: number): ValueFn {
  const parts: Part[] = [];
  let pos = 0;
  while (pos < src.length) {
    const open = src.indexOf('{{', pos);
    if (open < 0) {
      parts.push(src.slice(pos));
      break;
    }
    if (open > pos) parts.push(src.slice(pos, open));
    const close = src.indexOf('}}', open + 2);
    if (close < 0) throw new Error(`unclosed "{{" in ${JSON.stringify(src)}`);
    parts.push(compileExpr(src.slice(open + 2, close).trim(), tableDepth));
    pos = close + 2;
  }
  if (parts.length === 0) return () => '';
  if (parts.length === 1 && typeof parts[0] === 'string') {
    const constant = parts[0];
    return () => constant;
  }
  if (parts.length === 1) return parts[0] as ValueFn;
  return (ctx, inst, salt) => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(ctx, inst, salt);
    return out;
  };
}

function rowAt(inst: readonly number[], depth: number): number {
  // depth 0 means "innermost"
  if (depth === 0) return inst[inst.length - 1] ?? 0;
  return inst[depth - 1] ?? 0;
}

function argInt(a: Arg, inst: readonly number[]): number {
  if (a.k === 'num') return a.v;
  if (a.k === 'row') return rowAt(inst, a.depth);
  throw new Error('unreachable');
}

function compileExpr(expr: string, tableDepth: number): ValueFn {
  const m = /^([A-Za-z][A-Za-z0-9]*)\s*(?:\((.*)\))?$/s.exec(expr);
  if (!m) throw new Error(`cannot read template expression {{${expr}}}`);
  const name = m[1]!;
  const args = m[2] === undefined ? undefined : parseArgs(m[2], expr);
  const noArgs = () => {
    if (args !== undefined) throw new Error(`{{${name}}} takes no arguments`);
  };
  const needRows = (depth: number) => {
    if (depth > tableDepth || (depth === 0 && tableDepth === 0)) {
      throw new Error(`{{${expr}}}: no table row at that depth here (this object is ${tableDepth} table(s) deep)`);
    }
  };
  const intArg = (a: Arg | undefined, what: string): Arg => {
    if (!a || (a.k !== 'num' && a.k !== 'row')) throw new Error(`{{${expr}}}: ${what} must be an integer or i, i1, i2, i3`);
    if (a.k === 'row') needRows(a.depth);
    return a;
  };
  if (IDENTITY_KEYS.has(name)) {
    noArgs();
    const key = name as keyof ResolvedIdentity;
    return (ctx) => ctx.identity[key];
  }
  switch (name) {
    case 'index':
      noArgs();
      return (ctx) => String(ctx.index);
    case 'i':
    case 'i1':
    case 'i2':
    case 'i3': {
      noArgs();
      const depth = name === 'i' ? 0 : Number(name.slice(1));
      needRows(depth);
      return (_ctx, inst) => String(rowAt(inst, depth));
    }
    case 'crUrl':
      noArgs();
      return (ctx) => ctx.crUrl();
    case 'acsUrl':
      noArgs();
      return (ctx) => ctx.acs.url;
    case 'acsUsername':
      noArgs();
      return (ctx) => ctx.acs.username;
    case 'acsPassword':
      noArgs();
      return (ctx) => ctx.acs.password;
    case 'bootTime':
      noArgs();
      return (ctx) => new Date(ctx.bootAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
    case 'mac': {
      if (!args || args.length !== 1) throw new Error(`{{${expr}}}: mac takes one argument`);
      const k = intArg(args[0], 'the MAC number');
      return (ctx, inst) => {
        const pool = ctx.pools.mac;
        return formatMac(pool.base + ctx.index * pool.perCpe + argInt(k, inst));
      };
    }
    case 'ipv4':
    case 'ipv6': {
      if (!args || args.length !== 2 || args[0]!.k !== 'ident') {
        throw new Error(`{{${expr}}}: ${name} takes (pool, k), e.g. ${name}(wan, 0)`);
      }
      const pool = (args[0] as { v: string }).v;
      const k = intArg(args[1], 'the address number');
      if (name === 'ipv4') {
        return (ctx, inst) => {
          const p = ctx.pools.ipv4[pool];
          if (!p) throw new Error(`no ipv4 pool "${pool}"`);
          return ipv4At(p, ctx.index, argInt(k, inst));
        };
      }
      return (ctx, inst) => {
        const p = ctx.pools.ipv6[pool];
        if (!p) throw new Error(`no ipv6 pool "${pool}"`);
        return ipv6At(p, ctx.index, argInt(k, inst));
      };
    }
    case 'pick': {
      if (!args || args.length < 2) throw new Error(`{{${expr}}}: pick takes (i, a, b, ...)`);
      const sel = intArg(args[0], 'the selector');
      const items = args.slice(1).map((a) => {
        if (a.k === 'num') return String(a.v);
        if (a.k === 'str') return a.v;
        throw new Error(`{{${expr}}}: pick items must be numbers or "strings"`);
      });
      return (_ctx, inst) => items[(((argInt(sel, inst) - 1) % items.length) + items.length) % items.length]!;
    }
    case 'rand': {
      if (!args || args.length !== 2 || args[0]!.k !== 'num' || args[1]!.k !== 'num') {
        throw new Error(`{{${expr}}}: rand takes two integers (min, max)`);
      }
      const min = (args[0] as { v: number }).v;
      const max = (args[1] as { v: number }).v;
      return (ctx, _inst, salt) => String(intBetween(ctx.seed, ctx.index, salt, min, max));
    }
    case 'hex': {
      if (!args || args.length !== 1 || args[0]!.k !== 'num' || args[0]!.v < 1) {
        throw new Error(`{{${expr}}}: hex takes one positive integer`);
      }
      const n = (args[0] as { v: number }).v;
      return (ctx, _inst, salt) => hexDigits(ctx.seed, ctx.index, salt, n);
    }
    default:
      throw new Error(`unknown template function or name "${name}" in {{${expr}}}`);
  }
}

function parseArgs(src: string, expr: string): Arg[] {
  const out: Arg[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|(-?\d+)|([A-Za-z_][A-Za-z0-9_]*))\s*(,|$)/y;
  let pos = 0;
  if (src.trim() === '') return out;
  while (pos < src.length) {
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new Error(`cannot read the arguments of {{${expr}}}`);
    if (m[1] !== undefined) out.push({ k: 'str', v: m[1].replace(/\\(.)/g, '$1') });
    else if (m[2] !== undefined) out.push({ k: 'num', v: Number(m[2]) });
    else {
      const id = m[3]!;
      const row = /^i([123])?$/.exec(id);
      out.push(row ? { k: 'row', depth: row[1] ? Number(row[1]) : 0 } : { k: 'ident', v: id });
    }
    pos = re.lastIndex;
    if (m[4] === '') break;
  }
  return out;
}
