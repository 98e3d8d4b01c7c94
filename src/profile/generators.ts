// Moving values (docs/profiles.md "Generators"): pure functions of (seed, CPE index,
// concrete parameter salt, time). Nothing is stored; a value is computed when read.
import type { Generator } from '../datamodel/context.js';
import { isoSeconds } from '../datamodel/datetime.js';
import type { XsdType } from '../datamodel/values.js';
import { mix32, unit } from '../util/hash.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function num(spec: Record<string, unknown>, key: string, where: string, dflt?: number): number {
  const v = spec[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}.${key}: expected a number, got ${JSON.stringify(v)}`);
  return v;
}

function onlyKeys(spec: Record<string, unknown>, keys: string[], where: string): void {
  for (const k of Object.keys(spec)) {
    if (!keys.includes(k)) throw new Error(`${where}.${k}: unknown key (expected one of ${keys.join(', ')})`);
  }
}

/** Compile a `gen:` spec. `where` names the key for errors. */
export function compileGenerator(raw: unknown, type: XsdType, where: string): Generator {
  if (raw === 'uptime') return (ctx) => String(Math.max(0, Math.floor((ctx.now - ctx.bootAt) / 1000)));
  if (raw === 'clock') {
    if (type !== 'dateTime') throw new Error(`${where}: clock needs type dateTime, not ${type}`);
    return (ctx) => isoSeconds(ctx.now);
  }
  if (!isObj(raw) || Object.keys(raw).length !== 1) {
    throw new Error(`${where}: expected uptime, clock, or one of {counter|drift|enum|countdown: {...}}`);
  }
  const kind = Object.keys(raw)[0]!;
  const spec = raw[kind];
  const at = `${where}.${kind}`;
  if (!isObj(spec)) throw new Error(`${at}: expected a map of settings`);
  const numeric = type === 'int' || type === 'unsignedInt' || type === 'long' || type === 'unsignedLong';
  switch (kind) {
    case 'counter': {
      onlyKeys(spec, ['rate', 'spread', 'wrap'], at);
      if (!numeric) throw new Error(`${at}: a counter needs a numeric type, not ${type}`);
      const rate = num(spec, 'rate', at);
      const spread = num(spec, 'spread', at, 0.5);
      const wrap = num(spec, 'wrap', at, type === 'unsignedInt' || type === 'int' ? 2 ** 32 : 0);
      if (rate < 0) throw new Error(`${at}.rate: must be >= 0`);
      if (spread < 0 || spread > 1) throw new Error(`${at}.spread: must be within [0, 1]`);
      return (ctx, salt) => {
        const r = rate * (1 + spread * (2 * unit(ctx.seed, ctx.index, salt) - 1));
        const v = Math.floor((r * Math.max(0, ctx.now - ctx.bootAt)) / 1000);
        return String(wrap > 0 ? v % wrap : v);
      };
    }
    case 'drift': {
      onlyKeys(spec, ['min', 'max', 'period'], at);
      if (!numeric) throw new Error(`${at}: drift needs a numeric type, not ${type}`);
      const min = num(spec, 'min', at);
      const max = num(spec, 'max', at);
      const period = num(spec, 'period', at, 900);
      if (max < min) throw new Error(`${at}: max must be >= min`);
      if (period <= 0) throw new Error(`${at}.period: must be > 0`);
      const mid = (min + max) / 2;
      const amp = (max - min) / 2;
      return (ctx, salt) => {
        const phase = unit(ctx.seed, ctx.index, salt) * 2 * Math.PI;
        const t = ctx.now / 1000 / period;
        // Two incommensurate waves so values wander rather than tick like a clock.
        const w = 0.7 * Math.sin(2 * Math.PI * t + phase) + 0.3 * Math.sin(2 * Math.PI * 2.618 * t + 2 * phase);
        return String(Math.round(mid + amp * w));
      };
    }
    case 'enum': {
      onlyKeys(spec, ['values', 'period'], at);
      const values = spec['values'];
      if (!Array.isArray(values) || values.length === 0) throw new Error(`${at}.values: expected a non-empty list`);
      const list = values.map(String);
      const period = num(spec, 'period', at, 3600);
      if (period <= 0) throw new Error(`${at}.period: must be > 0`);
      return (ctx, salt) => {
        const slot = Math.floor(ctx.now / 1000 / period);
        return list[mix32(mix32(ctx.seed, ctx.index, salt), slot) % list.length]!;
      };
    }
    case 'countdown': {
      onlyKeys(spec, ['from'], at);
      if (!numeric) throw new Error(`${at}: countdown needs a numeric type, not ${type}`);
      const from = num(spec, 'from', at);
      if (from <= 0) throw new Error(`${at}.from: must be > 0`);
      return (ctx, salt) => {
        const phase = Math.floor(unit(ctx.seed, ctx.index, salt) * from);
        const elapsed = Math.floor(ctx.now / 1000) + phase;
        return String(from - (elapsed % from));
      };
    }
    default:
      throw new Error(`${where}: unknown generator "${kind}" (expected uptime, clock, counter, drift, enum, countdown)`);
  }
}
