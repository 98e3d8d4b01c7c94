// The small toolkit the scenario validators share: key paths as a reader writes them
// (`stages[2].powerCut.duration`), values shown as they were given, and one way to fail
// that names the path and the form expected.
import { ScenarioError } from '../util/errors.js';
import { didYouMean } from '../util/suggest.js';

/** Throws a ScenarioError `<prefix><path>: <message>`. */
export type Fail = (path: string, message: string) => never;

/** A Fail whose messages start with `prefix` (e.g. `scenario storm.yaml: `, or '' for an admin event). */
export function failWith(prefix: string): Fail {
  return (path, message) => {
    throw new ScenarioError(`${prefix}${path === '' ? '' : `${path}: `}${message}`);
  };
}

/** A value as the user wrote it, short. */
export function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** `path.key`, or `path["odd key"]` when the key is not a plain name. */
export function at(path: string, key: string): string {
  if (!/^[A-Za-z_][\w-]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value as a map, or a failure naming the path and the keys expected. */
export function mapAt(v: unknown, path: string, fail: Fail, what: string): Record<string, unknown> {
  if (!isMap(v)) fail(path, `expected ${what}, got ${shown(v)}`);
  return v;
}

/** Refuse any key outside `known`, with a did-you-mean. */
export function onlyKeys(m: Record<string, unknown>, path: string, known: readonly string[], fail: Fail): void {
  for (const k of Object.keys(m)) {
    if (!known.includes(k)) fail(at(path, k), `unknown key${didYouMean(k, known)}; the keys here are ${known.join(', ')}`);
  }
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "30s", "2m", "1h" or a plain number (of seconds, or only 0 when `plain` is 'none'), as ms; undefined when malformed. */
export function durationMs(v: unknown, plain: 'seconds' | 'none' = 'seconds'): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 && (plain === 'seconds' || v === 0) ? v * 1000 : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(v.trim());
  if (!m) return undefined;
  if (m[2] === undefined) return plain === 'seconds' || Number(m[1]) === 0 ? Number(m[1]) * 1000 : undefined;
  return Number(m[1]) * UNIT_MS[m[2]]!;
}

/** The same, as seconds. */
export function durationSeconds(v: unknown, plain: 'seconds' | 'none' = 'seconds'): number | undefined {
  const ms = durationMs(v, plain);
  return ms === undefined ? undefined : ms / 1000;
}

/** How a duration is shown back in messages: "90s", "1500ms". */
export function fmtSeconds(s: number): string {
  return Number.isInteger(s) || s >= 1 ? `${+s.toFixed(3)}s` : `${+(s * 1000).toFixed(3)}ms`;
}
