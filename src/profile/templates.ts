// `{{...}}` value templates (docs/profiles.md "Templates"), compiled once per shard
// into closures that are evaluated per CPE and row only when a value is read.
import type { EvalContext, PoolsSpec, ResolvedIdentity, ValueFn } from '../datamodel/context.js';
import { isoSeconds } from '../datamodel/datetime.js';
import { hexDigits, intBetween, mix32 } from '../util/hash.js';
import { formatMac, ipv4At, ipv6At } from './identity.js';

type Part = string | ValueFn;

const IDENTITY_KEYS = new Set(['serial', 'oui', 'manufacturer', 'productClass', 'modelName', 'hardwareVersion', 'softwareVersion']);

/** Throws Error with a precise message; the caller prefixes file and key. */
/** What a template is compiled against: its table depth and the profile's pool names. */
export interface TemplateScope {
  tableDepth: number;
  pools: PoolsSpec;
}

export function compileTemplate(src: string, scope: TemplateScope): ValueFn {
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
    parts.push(compileExpr(src.slice(open + 2, close).trim(), scope));
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

// ---- a tiny expression language: calls, names, integers, "strings", + and - ----

type Node =
  | { k: 'num'; v: number }
  | { k: 'str'; v: string }
  | { k: 'name'; v: string }
  | { k: 'call'; fn: string; args: Node[] }
  | { k: 'bin'; op: '+' | '-'; a: Node; b: Node };

function parseExpr(src: string): Node {
  let pos = 0;
  const ws = () => {
    while (pos < src.length && /\s/.test(src[pos]!)) pos++;
  };
  const fail = (why: string): never => {
    throw new Error(`cannot read template expression {{${src}}}: ${why} at column ${pos + 1}`);
  };
  const primary = (): Node => {
    ws();
    const rest = src.slice(pos);
    let m = /^-?\d+/.exec(rest);
    if (m) {
      pos += m[0].length;
      return { k: 'num', v: Number(m[0]) };
    }
    m = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
    if (m) {
      pos += m[0].length;
      return { k: 'str', v: m[1]!.replace(/\\(.)/g, '$1') };
    }
    m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (!m) return fail('expected a name, a number or a "string"');
    pos += m[0].length;
    ws();
    if (src[pos] !== '(') return { k: 'name', v: m[0] };
    pos++;
    const args: Node[] = [];
    ws();
    if (src[pos] === ')') {
      pos++;
      return { k: 'call', fn: m[0], args };
    }
    for (;;) {
      args.push(expr());
      ws();
      if (src[pos] === ',') {
        pos++;
        continue;
      }
      if (src[pos] === ')') {
        pos++;
        return { k: 'call', fn: m[0], args };
      }
      return fail('expected "," or ")"');
    }
  };
  const expr = (): Node => {
    let a = primary();
    for (;;) {
      ws();
      const op = src[pos];
      if (op !== '+' && op !== '-') return a;
      pos++;
      a = { k: 'bin', op, a, b: primary() };
    }
  };
  const n = expr();
  ws();
  if (pos < src.length) fail('unexpected text');
  return n;
}

function compileExpr(expr: string, scope: TemplateScope): ValueFn {
  return compileNode(parseExpr(expr), expr, scope);
}

function compileNode(n: Node, expr: string, scope: TemplateScope): ValueFn {
  const tableDepth = scope.tableDepth;
  const bad = (why: string): never => {
    throw new Error(`{{${expr}}}: ${why}`);
  };
  const int = (a: Node): ((ctx: EvalContext, inst: readonly number[], salt: number) => number) => {
    if (a.k === 'str') bad(`"${a.v}" is not an integer`);
    const f = compileNode(a, expr, scope);
    return (ctx, inst, salt) => Number(f(ctx, inst, salt));
  };
  const arity = (args: Node[], count: number, form: string) => {
    if (args.length !== count) bad(`expected ${form}`);
  };
  switch (n.k) {
    case 'num': {
      const v = String(n.v);
      return () => v;
    }
    case 'str': {
      const v = n.v;
      return () => v;
    }
    case 'bin': {
      const a = int(n.a);
      const b = int(n.b);
      return n.op === '+' ? (c, i, s) => String(a(c, i, s) + b(c, i, s)) : (c, i, s) => String(a(c, i, s) - b(c, i, s));
    }
    case 'name': {
      const name = n.v;
      if (IDENTITY_KEYS.has(name)) {
        const key = name as keyof ResolvedIdentity;
        return (ctx) => ctx.identity[key];
      }
      const row = /^i([123])?$/.exec(name);
      if (row) {
        const depth = row[1] ? Number(row[1]) : 0;
        if (depth > tableDepth || (depth === 0 && tableDepth === 0)) bad(`no table row "${name}" here (this object is ${tableDepth} table(s) deep)`);
        return (_ctx, inst) => String(rowAt(inst, depth));
      }
      switch (name) {
        case 'index':
          return (ctx) => String(ctx.index);
        case 'crUrl':
          return (ctx) => ctx.crUrl();
        case 'fwActive':
          return (ctx) => String(ctx.firmware.active);
        case 'crUsername':
          // The configured pattern, else the serial.
          return (ctx) => (ctx.crUsername ? ctx.crUsername() : ctx.identity.serial);
        case 'crPassword':
          // The configured pattern, else 16 hex digits drawn for this CPE.
          return (ctx, _inst, salt) => (ctx.crPassword ? ctx.crPassword() : hexDigits(ctx.seed, ctx.index, salt, 16));
        case 'acsUrl':
          return (ctx) => ctx.acs.url;
        case 'acsUsername':
          return (ctx) => ctx.acs.username;
        case 'acsPassword':
          return (ctx) => ctx.acs.password;
        case 'endpointId':
          return (ctx) => (ctx.usp ? ctx.usp.endpointId() : `os::${ctx.identity.oui}-${ctx.identity.serial}`);
        case 'uspAgentTopic':
          return (ctx) => (ctx.usp ? ctx.usp.agentTopic() : `/usp/agent/os::${ctx.identity.oui}-${ctx.identity.serial}`);
        case 'uspControllerId':
          return (ctx) => ctx.usp?.controllerId ?? 'self::usp-controller';
        case 'uspControllerTopic':
          return (ctx) => ctx.usp?.controllerTopic ?? '/usp/controller';
        // XMPP connection requests (--xmpp-*; TR-069 Annex K): off unless the fleet turns them on.
        case 'xmppEnable':
          return (ctx) => (ctx.xmpp ? 'true' : 'false');
        case 'xmppServerAddress':
          return (ctx) => ctx.xmpp?.serverAddress ?? '';
        case 'xmppServerPort':
          return (ctx) => String(ctx.xmpp?.serverPort ?? 5222);
        case 'xmppDomain':
          return (ctx) => ctx.xmpp?.domain ?? '';
        case 'xmppUsername':
          // The configured pattern, else the serial.
          return (ctx) => (ctx.xmpp ? ctx.xmpp.username() : ctx.identity.serial);
        case 'xmppPassword':
          // The configured pattern, else 16 hex digits drawn for this CPE.
          return (ctx, _inst, salt) => (ctx.xmpp ? ctx.xmpp.password() : hexDigits(ctx.seed, ctx.index, salt, 16));
        case 'xmppAllowedJids':
          return (ctx) => ctx.xmpp?.allowedJids ?? '';
        case 'xmppUseTls':
          return (ctx) => String(ctx.xmpp?.useTls ?? false);
        case 'uspMtpProtocol':
          // TR-181 LocalAgent.MTP.{i}.Protocol: the MTP the fleet's agents speak (--usp-mtp).
          return (ctx) => ctx.usp?.mtpProtocol ?? 'MQTT';
        case 'bootTime':
          return (ctx) => isoSeconds(ctx.bootAt);
        case 'udpCrAddress':
          return (ctx) => ctx.udpCr?.address() ?? '';
        case 'natDetected':
          return (ctx) => String(ctx.udpCr?.natDetected() ?? false);
        case 'stunServerAddress':
          return (ctx) => ctx.udpCr?.stunServerAddress ?? '';
        case 'stunServerPort':
          return (ctx) => String(ctx.udpCr?.stunServerPort ?? 3478);
        default:
          return bad(`unknown name "${name}"`);
      }
    }
    case 'call': {
      const { fn, args } = n;
      switch (fn) {
        case 'mac': {
          arity(args, 1, 'mac(k)');
          const k = int(args[0]!);
          return (ctx, inst, salt) => formatMac(ctx.pools.mac.base + ctx.index * ctx.pools.mac.perCpe + k(ctx, inst, salt));
        }
        case 'ipv4':
        case 'ipv6': {
          arity(args, 2, `${fn}(pool, k)`);
          if (args[0]!.k !== 'name') bad(`the first argument of ${fn} is a pool name, e.g. ${fn}(wan, 0)`);
          const pool = (args[0] as { v: string }).v;
          if (!scope.pools[fn][pool]) bad(`no ${fn} pool "${pool}" in profile.yaml pools (have: ${Object.keys(scope.pools[fn]).join(', ') || 'none'})`);
          const k = int(args[1]!);
          if (fn === 'ipv4') {
            return (ctx, inst, salt) => {
              const p = ctx.pools.ipv4[pool];
              if (!p) throw new Error(`no ipv4 pool "${pool}"`);
              return ipv4At(p, ctx.index, k(ctx, inst, salt));
            };
          }
          return (ctx, inst, salt) => {
            const p = ctx.pools.ipv6[pool];
            if (!p) throw new Error(`no ipv6 pool "${pool}"`);
            return ipv6At(p, ctx.index, k(ctx, inst, salt));
          };
        }
        case 'pick': {
          if (args.length < 2) bad('expected pick(i, a, b, ...)');
          const sel = int(args[0]!);
          const items = args.slice(1).map((a) => compileNode(a, expr, scope));
          const len = items.length;
          return (ctx, inst, salt) => items[(((sel(ctx, inst, salt) - 1) % len) + len) % len]!(ctx, inst, salt);
        }
        case 'rand': {
          // An optional third argument picks another independent draw for the same parameter.
          if (args.length !== 2 && args.length !== 3) bad('expected rand(min, max) or rand(min, max, stream)');
          const lo = int(args[0]!);
          const hi = int(args[1]!);
          const stream = args[2] ? int(args[2]) : undefined;
          return (ctx, inst, salt) => {
            const s = stream ? mix32(salt, stream(ctx, inst, salt)) : salt;
            return String(intBetween(ctx.seed, ctx.index, s, lo(ctx, inst, salt), hi(ctx, inst, salt)));
          };
        }
        case 'fwVersion':
        case 'fwStatus': {
          // The firmware bank k (1 or 2): its version, or Active/Available.
          arity(args, 1, `${fn}(k)`);
          const k = int(args[0]!);
          if (fn === 'fwVersion') return (ctx, inst, salt) => ctx.firmware.versions[k(ctx, inst, salt) === 2 ? 1 : 0];
          return (ctx, inst, salt) => (k(ctx, inst, salt) === ctx.firmware.active ? 'Active' : 'Available');
        }
        case 'hex': {
          if (args.length !== 1 && args.length !== 2) bad('expected hex(n) or hex(n, stream)');
          const len = int(args[0]!);
          const stream = args[1] ? int(args[1]) : undefined;
          return (ctx, inst, salt) => {
            const s = stream ? mix32(salt, stream(ctx, inst, salt)) : salt;
            return hexDigits(ctx.seed, ctx.index, s, Math.max(1, len(ctx, inst, salt)));
          };
        }
        default:
          return bad(`unknown function "${fn}"`);
      }
    }
  }
}
