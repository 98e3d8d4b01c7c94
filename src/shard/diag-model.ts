// Modelled TR-143 results (docs/diagnostics.md "Modelled results"): ping, traceroute, UDP
// echo and server selection send no packet. Their numbers are pure functions of (seed,
// CPE index, the test's inputs) drawn within the profile's settings.diagnostics, so the
// same seed gives the same results; only whether a host resolves is looked up for real.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { DiagnosticsModelSpec } from '../profile/types.js';
import { hashString, intBetween, mix32, unit } from '../util/hash.js';
import type { DiagOutcome } from './diag-tests.js';

/** How long a real name lookup may take before the host counts as unresolvable. */
export const RESOLVE_TIMEOUT_MS = 2000;

/**
 * The address a host name resolves to, or undefined when it does not. IP literals are
 * themselves; `localhost` is 127.0.0.1; a name under `.invalid` (RFC 6761) never resolves
 * and is not looked up; any other name goes to the system resolver, at most RESOLVE_TIMEOUT_MS.
 */
export async function resolveHost(host: string): Promise<string | undefined> {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1');
  if (h === '') return undefined;
  if (isIP(h)) return h;
  const name = h.toLowerCase().replace(/\.$/, '');
  if (name === 'invalid' || name.endsWith('.invalid')) return undefined;
  if (name === 'localhost' || name.endsWith('.localhost')) return '127.0.0.1';
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), RESOLVE_TIMEOUT_MS);
    });
    const found = await Promise.race([lookup(name).then((a) => a.address), timeout]);
    return found;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** What a modelled test found, in TR-181 output names, and how long it took (ms). */
export interface ModelResult {
  outcome: DiagOutcome;
  outputs: Record<string, string>;
  hops: Array<{ host: string; address: string; errorCode: number; rtTimes: string }>;
  durationMs: number;
}

interface Draw {
  seed: number;
  index: number;
}

/** A stream of draws for one test's inputs: fixed by (seed, CPE, inputs). */
function stream(d: Draw, key: string): (k: number) => number {
  const base = hashString(key);
  return (k) => unit(d.seed, d.index, mix32(base, k));
}

/** Per probe: the RTT in µs, or undefined when lost. */
function probes(d: Draw, m: DiagnosticsModelSpec, key: string, host: string, n: number, timeoutMs: number): Array<number | undefined> {
  const baseMs = intBetween(d.seed, d.index, hashString(`rtt:${host}`), m.rttMs[0], m.rttMs[1]);
  const u = stream(d, key);
  const out: Array<number | undefined> = [];
  for (let k = 0; k < n; k++) {
    if (u(2 * k) * 100 < m.lossPercent) {
      out.push(undefined);
      continue;
    }
    // Jitter up to a quarter of the base RTT on top, in µs.
    const us = Math.round(baseMs * 1000 * (1 + 0.25 * u(2 * k + 1)));
    out.push(us > timeoutMs * 1000 ? undefined : us);
  }
  return out;
}

function stats(rtts: Array<number | undefined>): { ok: number; lost: number; min: number; max: number; avg: number } {
  const got = rtts.filter((x): x is number => x !== undefined);
  if (got.length === 0) return { ok: 0, lost: rtts.length, min: 0, max: 0, avg: 0 };
  return { ok: got.length, lost: rtts.length - got.length, min: Math.min(...got), max: Math.max(...got), avg: Math.round(got.reduce((a, b) => a + b, 0) / got.length) };
}

const ms = (us: number): string => String(Math.round(us / 1000));

/** IPPing: NumberOfRepetitions echo requests, one a second. */
export function modelPing(d: Draw, m: DiagnosticsModelSpec, host: string, address: string, reps: number, timeoutMs: number, size: number): ModelResult {
  const rtts = probes(d, m, `ping:${host}:${reps}:${timeoutMs}:${size}`, host, reps, timeoutMs);
  const s = stats(rtts);
  return {
    outcome: 'complete',
    outputs: {
      SuccessCount: String(s.ok),
      FailureCount: String(s.lost),
      AverageResponseTime: ms(s.avg),
      MinimumResponseTime: ms(s.min),
      MaximumResponseTime: ms(s.max),
      AverageResponseTimeDetailed: String(s.avg),
      MinimumResponseTimeDetailed: String(s.min),
      MaximumResponseTimeDetailed: String(s.max),
    },
    hops: [],
    durationMs: duration(rtts, timeoutMs, 1000),
  };
}

/** UDPEchoDiagnostics: like a ping, on the given port, InterTransmissionTime apart. */
export function modelUdpEcho(d: Draw, m: DiagnosticsModelSpec, host: string, port: number, reps: number, timeoutMs: number, gapMs: number): ModelResult {
  const rtts = probes(d, m, `udpecho:${host}:${port}:${reps}:${timeoutMs}`, host, reps, timeoutMs);
  const s = stats(rtts);
  return {
    outcome: 'complete',
    outputs: { SuccessCount: String(s.ok), FailureCount: String(s.lost), AverageResponseTime: ms(s.avg), MinimumResponseTime: ms(s.min), MaximumResponseTime: ms(s.max) },
    hops: [],
    durationMs: duration(rtts, timeoutMs, gapMs),
  };
}

/** How long probes `gapMs` apart take: the gaps plus the last answer (or its timeout). */
function duration(rtts: Array<number | undefined>, timeoutMs: number, gapMs: number): number {
  if (rtts.length === 0) return 0;
  const last = rtts[rtts.length - 1];
  return (rtts.length - 1) * gapMs + (last === undefined ? timeoutMs : Math.ceil(last / 1000));
}

/**
 * TraceRoute: the hop count to the host is drawn for (CPE, host); the first hop is the
 * access network's gateway, the middle ones addresses in 198.51.100.0/24 (TEST-NET-2),
 * the last the host itself. RTTs grow along the path up to the host's RTT.
 */
export function modelTraceRoute(d: Draw, m: DiagnosticsModelSpec, host: string, address: string, tries: number, timeoutMs: number, maxHops: number): ModelResult {
  const count = intBetween(d.seed, d.index, hashString(`hops:${host}`), m.hops[0], m.hops[1]);
  const shown = Math.min(count, maxHops);
  const finalMs = intBetween(d.seed, d.index, hashString(`rtt:${host}`), m.rttMs[0], m.rttMs[1]);
  const u = stream(d, `trace:${host}:${tries}:${timeoutMs}`);
  const hops: ModelResult['hops'] = [];
  let total = 0;
  for (let k = 1; k <= shown; k++) {
    const last = k === count;
    const baseMs = Math.max(1, Math.round((finalMs * k) / count));
    const times: number[] = [];
    for (let t = 0; t < tries; t++) times.push(Math.max(1, Math.round(baseMs * (1 + 0.25 * u(k * 8 + t)))));
    total += times.reduce((a, b) => a + b, 0);
    const addr = last ? address : k === 1 ? '100.64.0.1' : `198.51.100.${1 + Math.floor(u(k * 8 + 7) * 254)}`;
    hops.push({ host: last ? host : addr, address: addr, errorCode: 0, rtTimes: times.join(',') });
  }
  const lastTimes = hops.length > 0 ? hops[hops.length - 1]!.rtTimes.split(',').map(Number) : [0];
  return {
    outcome: count > maxHops ? 'maxHops' : 'complete',
    outputs: { ResponseTime: count > maxHops ? '0' : String(Math.round(lastTimes.reduce((a, b) => a + b, 0) / lastTimes.length)) },
    hops,
    durationMs: total,
  };
}

/**
 * ServerSelectionDiagnostics: each resolvable host of the list is probed NumberOfRepetitions
 * times; the fastest by average wins. Times in µs, as TR-181 gives them for this test.
 */
export function modelServerSelection(d: Draw, m: DiagnosticsModelSpec, hosts: ReadonlyArray<{ host: string; address: string }>, reps: number, timeoutMs: number, protocol: string): ModelResult {
  let best: { host: string; s: ReturnType<typeof stats> } | undefined;
  let durationMs = 0;
  for (const { host } of hosts) {
    const rtts = probes(d, m, `select:${protocol}:${host}:${reps}:${timeoutMs}`, host, reps, timeoutMs);
    durationMs += duration(rtts, timeoutMs, 1000);
    const s = stats(rtts);
    if (s.ok > 0 && (!best || s.avg < best.s.avg)) best = { host, s };
  }
  if (!best) return { outcome: 'complete', outputs: { FastestHost: '', MinimumResponseTime: '0', AverageResponseTime: '0', MaximumResponseTime: '0' }, hops: [], durationMs };
  return {
    outcome: 'complete',
    outputs: { FastestHost: best.host, MinimumResponseTime: String(best.s.min), AverageResponseTime: String(best.s.avg), MaximumResponseTime: String(best.s.max) },
    hops: [],
    durationMs,
  };
}
