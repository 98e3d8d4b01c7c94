// TR-143 diagnostics over CWMP (docs/diagnostics.md): the mock ACS over real HTTP writes
// DiagnosticsState and reads the results; download and upload tests move real bytes to a
// file server on 127.0.0.1 (HTTP and HTTPS).
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EV } from '../src/cwmp/events.js';
import type { AcsOutgoingRequest, CpeMessage, ParameterValue } from '../src/cwmp/types.js';
import type { RecordedSession } from '../src/mock-acs/mock-acs.js';
import { startFileServer, type FileServer } from './helpers/file-server.js';
import { bootstrapped, deviceIdOf, events, fixture, rebootMs, spv, startHarness, tr098Profile, until, type Harness, type HarnessOptions } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

const PING = 'Device.IP.Diagnostics.IPPing.';
const TRACE = 'Device.IP.Diagnostics.TraceRoute.';
const DL = 'Device.IP.Diagnostics.DownloadDiagnostics.';
const UL = 'Device.IP.Diagnostics.UploadDiagnostics.';
const MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

let h: Harness | undefined;
let files: FileServer | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  await files?.close();
  files = undefined;
});

const gpv = (...names: string[]): AcsOutgoingRequest => ({ method: 'GetParameterValues', names });

/** What the ACS asks in the next session that carries 8 DIAGNOSTICS COMPLETE. */
let onComplete: AcsOutgoingRequest[] = [];
const isComplete = (x: RecordedSession): boolean => x.inform.events.some((e) => e.code === '8 DIAGNOSTICS COMPLETE');

async function boot(o: HarnessOptions = {}): Promise<Harness> {
  const harness = await startHarness({ acsTimeoutMs: 2000, ...o, acs: { script: (i) => (i.events.some((e) => e.code === '8 DIAGNOSTICS COMPLETE') ? onComplete.splice(0) : undefined) } });
  await bootstrapped(harness);
  return harness;
}

/** Run one session with these RPCs (a connection request), wait for its end; the session. */
async function session(hh: Harness, ...reqs: AcsOutgoingRequest[]): Promise<RecordedSession> {
  const before = hh.acs.sessions.length;
  hh.acs.queue(deviceIdOf(hh, 0), ...reqs);
  hh.cwmp.raise(0, EV.CONNECTION_REQUEST);
  await hh.acs.waitFor(() => hh.acs.sessions.length > before && hh.acs.sessions.at(-1)!.ended, 10_000, 'session');
  await until(() => hh.shard.admin.stats().activeSessions === 0);
  return hh.acs.sessions.at(-1)!;
}

/** The CPE's answers in a session, in order (the Inform's response excluded). */
const answers = (s: RecordedSession): CpeMessage[] => s.messages.map((m) => m.message).filter((m): m is CpeMessage => m.method !== 'Inform' && m.method !== 'Empty');

function values(m: CpeMessage | undefined): Record<string, string> {
  if (m?.method !== 'GetParameterValuesResponse') throw new Error(`expected GetParameterValuesResponse, got ${JSON.stringify(m)}`);
  return Object.fromEntries(m.params.map((p: ParameterValue) => [p.name, p.value]));
}

/**
 * A session with `request` (which asks for a test), then the test's run (a modelled one
 * runs out on the fake clock) and the session its end opens, in which the ACS asks `after`.
 */
async function completes(hh: Harness, request: AcsOutgoingRequest[], after: AcsOutgoingRequest[] = []): Promise<RecordedSession> {
  onComplete = after;
  const start = hh.acs.sessions.length;
  await session(hh, ...request);
  await until(() => hh.shard.diagnostics.dueAt(0) > 0 || hh.shard.diagnostics.inFlight(0) === 0, 10_000, 'the test to be planned');
  if (hh.shard.diagnostics.dueAt(0) > 0) hh.tick(hh.shard.diagnostics.dueAt(0) - hh.clock.now());
  await hh.acs.waitFor(() => hh.acs.sessions.slice(start).some((x) => isComplete(x) && x.ended), 10_000, 'the DIAGNOSTICS COMPLETE session');
  await until(() => hh.shard.admin.stats().activeSessions === 0);
  return hh.acs.sessions.slice(start).find(isComplete)!;
}

describe('TR-143 over CWMP, TR-181 (Device.IP.Diagnostics)', () => {
  it('IPPing: Requested starts the test after the session; its end opens a session with 8 DIAGNOSTICS COMPLETE and modelled results', async () => {
    h = await boot();
    const start = h.acs.sessions.length;
    const done = await completes(h, [spv('p1', [`${PING}Host`, '192.0.2.10', 'string'], [`${PING}NumberOfRepetitions`, '5', 'unsignedInt'], [`${PING}DiagnosticsState`, 'Requested', 'string']), gpv(`${PING}DiagnosticsState`, `${PING}SuccessCount`)], [gpv(PING)]);
    const [set, during] = answers(h.acs.sessions[start]!);
    expect(set).toEqual({ method: 'SetParameterValuesResponse', status: 0 });
    // Within the requesting session nothing has run yet.
    expect(values(during)).toEqual({ [`${PING}DiagnosticsState`]: 'Requested', [`${PING}SuccessCount`]: '0' });
    expect(events(done.inform)).toEqual(['8 DIAGNOSTICS COMPLETE']);
    const r = values(answers(done)[0]);
    expect(r[`${PING}DiagnosticsState`]).toBe('Complete');
    expect(Number(r[`${PING}SuccessCount`]) + Number(r[`${PING}FailureCount`])).toBe(5);
    expect(Number(r[`${PING}SuccessCount`])).toBeGreaterThan(0);
    const [min, avg, max] = ['Minimum', 'Average', 'Maximum'].map((k) => Number(r[`${PING}${k}ResponseTimeDetailed`]));
    expect(min).toBeGreaterThanOrEqual(8000);
    expect(min).toBeLessThanOrEqual(avg!);
    expect(avg).toBeLessThanOrEqual(max!);
    expect(max).toBeLessThanOrEqual(50_000);
    expect(r[`${PING}AverageResponseTime`]).toBe(String(Math.round(avg! / 1000)));
    expect(r[`${PING}IPAddressUsed`]).toMatch(/^100\.\d+\.\d+\.\d+$/);
    // Results stay until the next run: a later session reads them again, and no second 8 comes.
    const later = await session(h, gpv(`${PING}DiagnosticsState`, `${PING}AverageResponseTimeDetailed`));
    expect(events(later.inform)).toEqual(['6 CONNECTION REQUEST']);
    expect(values(answers(later)[0])).toEqual({ [`${PING}DiagnosticsState`]: 'Complete', [`${PING}AverageResponseTimeDetailed`]: String(avg) });
    // Writing another parameter of the object puts DiagnosticsState back to None.
    const reset = await session(h, spv('p2', [`${PING}Timeout`, '2000', 'unsignedInt']), gpv(`${PING}DiagnosticsState`));
    expect(values(answers(reset)[1])).toEqual({ [`${PING}DiagnosticsState`]: 'None' });
    await settle(h);
    expect(h.acs.sessions.filter((x) => events(x.inform).includes('8 DIAGNOSTICS COMPLETE'))).toHaveLength(1);
  });

  it('DiagnosticsState may only be written as Requested or Canceled: anything else is 9007, nothing written', async () => {
    h = await boot();
    const s = await session(h, spv('bad', [`${PING}Host`, '192.0.2.1', 'string'], [`${PING}DiagnosticsState`, 'Complete', 'string']), gpv(`${PING}Host`));
    const [fault, read] = answers(s);
    expect(fault).toMatchObject({ method: 'Fault', fault: { code: 9003, setParameterValuesFaults: [{ name: `${PING}DiagnosticsState`, code: 9007 }] } });
    expect(values(read)).toEqual({ [`${PING}Host`]: '' });
    await settle(h);
    expect(h.shard.diagnostics.inFlight(0)).toBe(0);
  });

  it('Canceled stops a requested test: DiagnosticsState None, and no 8 DIAGNOSTICS COMPLETE', async () => {
    h = await boot();
    await session(h, spv('p', [`${TRACE}Host`, '198.51.100.77', 'string'], [`${TRACE}DiagnosticsState`, 'Requested', 'string']));
    await until(() => h!.shard.diagnostics.dueAt(0) > 0, 10_000, 'the traceroute to run');
    const due = h.shard.diagnostics.dueAt(0);
    const c = await session(h, spv('c', [`${TRACE}DiagnosticsState`, 'Canceled', 'string']), gpv(`${TRACE}DiagnosticsState`));
    expect(values(answers(c)[1])).toEqual({ [`${TRACE}DiagnosticsState`]: 'None' });
    h.tick(due - h.clock.now() + 1000);
    await settle(h);
    expect(h.acs.sessions.some((x) => events(x.inform).includes('8 DIAGNOSTICS COMPLETE'))).toBe(false);
    expect(await h.shard.diagnostics.inFlight(0)).toBe(0);
  });

  it('an unresolvable host (a name under .invalid) ends in Error_CannotResolveHostName, with 8 DIAGNOSTICS COMPLETE', async () => {
    h = await boot();
    const done = await completes(h, [spv('p', [`${PING}Host`, 'acs-test.invalid', 'string'], [`${PING}DiagnosticsState`, 'Requested', 'string'])], [gpv(`${PING}DiagnosticsState`, `${PING}SuccessCount`)]);
    expect(events(done.inform)).toEqual(['8 DIAGNOSTICS COMPLETE']);
    expect(values(answers(done)[0])).toEqual({ [`${PING}DiagnosticsState`]: 'Error_CannotResolveHostName', [`${PING}SuccessCount`]: '0' });
  });

  it('TraceRoute: modelled hops in RouteHops.{i}, the same under the same --seed; a reboot forgets the results', async () => {
    const run = async (seed: number): Promise<Record<string, string>> => {
      const hh = await boot({ seed });
      try {
        const done = await completes(hh, [spv('t', [`${TRACE}Host`, '203.0.113.9', 'string'], [`${TRACE}DiagnosticsState`, 'Requested', 'string'])], [gpv(TRACE)]);
        expect(events(done.inform)).toEqual(['8 DIAGNOSTICS COMPLETE']);
        return values(answers(done)[0]);
      } finally {
        await hh.stop();
      }
    };
    const a = await run(42);
    const b = await run(42);
    expect(b).toEqual(a);
    expect(a[`${TRACE}DiagnosticsState`]).toBe('Complete');
    const hops = Number(a[`${TRACE}RouteHopsNumberOfEntries`]);
    expect(hops).toBeGreaterThanOrEqual(5);
    expect(hops).toBeLessThanOrEqual(12);
    expect(a[`${TRACE}RouteHops.${hops}.HostAddress`]).toBe('203.0.113.9');
    expect(a[`${TRACE}RouteHops.1.RTTimes`]).toMatch(/^\d+,\d+,\d+$/);
    // Reboot: the results go (TR-143), the object reads its defaults again.
    h = await boot({ seed: 42 });
    await completes(h, [spv('t', [`${TRACE}Host`, '203.0.113.9', 'string'], [`${TRACE}DiagnosticsState`, 'Requested', 'string'])]);
    await session(h, { method: 'Reboot', commandKey: 'r' });
    await until(() => !h!.shard.isPoweredOn(0));
    h.tick(rebootMs(h));
    await h.acs.waitFor(() => h!.acs.sessions.at(-1)!.inform.events.some((e) => e.code === '1 BOOT') && h!.acs.sessions.at(-1)!.ended);
    const after = await session(h, gpv(`${TRACE}DiagnosticsState`, `${TRACE}RouteHopsNumberOfEntries`));
    expect(values(answers(after)[0])).toEqual({ [`${TRACE}DiagnosticsState`]: 'None', [`${TRACE}RouteHopsNumberOfEntries`]: '0' });
  });

  it('DownloadDiagnostics fetches the URL over HTTP and reports real byte counts and microsecond timings', async () => {
    files = await startFileServer({ 'speed.bin': 200_000 });
    h = await boot();
    const done = await completes(h, [spv('d', [`${DL}DownloadURL`, `${files.url}/files/speed.bin`, 'string'], [`${DL}DiagnosticsState`, 'Requested', 'string'])], [gpv(DL)]);
    expect(events(done.inform)).toEqual(['8 DIAGNOSTICS COMPLETE']);
    expect(files.gets).toEqual(['/files/speed.bin']);
    const r = values(answers(done)[0]);
    expect(r[`${DL}DiagnosticsState`]).toBe('Complete');
    expect(r[`${DL}TestBytesReceived`]).toBe('200000');
    // The whole connection: the body plus the response head.
    expect(Number(r[`${DL}TotalBytesReceived`])).toBeGreaterThan(200_000);
    expect(Number(r[`${DL}TotalBytesSent`])).toBeGreaterThan(0);
    const times = ['TCPOpenRequestTime', 'TCPOpenResponseTime', 'ROMTime', 'BOMTime', 'EOMTime'].map((k) => r[`${DL}${k}`]!);
    for (const t of times) expect(t).toMatch(MICROS);
    const us = times.map((t) => Date.parse(t) * 1000 + Number(t.slice(23, 26)));
    for (let k = 1; k < us.length; k++) expect(us[k]).toBeGreaterThanOrEqual(us[k - 1]!);
  });

  it('DownloadDiagnostics errors: 404 is Error_TransferFailed, a closed port Error_InitConnectionFailed, an .invalid host Error_CannotResolveHostName', async () => {
    files = await startFileServer({});
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as { port: number }).port;
        srv.close(() => resolve(port));
      });
    });
    h = await boot();
    for (const [url, state] of [
      [`${files.url}/files/missing.bin`, 'Error_TransferFailed'],
      [`http://127.0.0.1:${closed}/x`, 'Error_InitConnectionFailed'],
      ['http://files.invalid/x', 'Error_CannotResolveHostName'],
    ] as const) {
      const done = await completes(h, [spv('d', [`${DL}DownloadURL`, url, 'string'], [`${DL}DiagnosticsState`, 'Requested', 'string'])], [gpv(`${DL}DiagnosticsState`, `${DL}TestBytesReceived`)]);
      expect(events(done.inform)).toEqual(['8 DIAGNOSTICS COMPLETE']);
      expect(values(answers(done)[0])).toEqual({ [`${DL}DiagnosticsState`]: state, [`${DL}TestBytesReceived`]: '0' });
    }
  });

  it('UploadDiagnostics PUTs TestFileLength bytes over HTTPS and reports TestBytesSent', async () => {
    const tls = { key: readFileSync(fixture('tls/server-key.pem'), 'utf8'), cert: readFileSync(fixture('tls/server.pem'), 'utf8') };
    files = await startFileServer({}, tls);
    h = await boot({ acsCaFile: fixture('tls/ca.pem') });
    const done = await completes(h, [spv('u', [`${UL}UploadURL`, `${files.url}/up/result.bin`, 'string'], [`${UL}TestFileLength`, '150000', 'unsignedInt'], [`${UL}DiagnosticsState`, 'Requested', 'string'])], [gpv(UL)]);
    expect(events(done.inform)).toEqual(['8 DIAGNOSTICS COMPLETE']);
    expect(files.puts.map((p) => [p.path, p.body.length])).toEqual([['/up/result.bin', 150_000]]);
    const r = values(answers(done)[0]);
    expect(r[`${UL}DiagnosticsState`]).toBe('Complete');
    expect(r[`${UL}TestBytesSent`]).toBe('150000');
    expect(Number(r[`${UL}TotalBytesSent`])).toBeGreaterThan(150_000);
    for (const k of ['TCPOpenRequestTime', 'TCPOpenResponseTime', 'ROMTime', 'BOMTime', 'EOMTime']) expect(r[`${UL}${k}`]).toMatch(MICROS);
  });

  it('a CPE that never ran a test stores nothing for it; with --state-dir results survive a restart, a test in flight does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpe-sim-diag-'));
    try {
      h = await boot({ stateDir: dir, cpes: 2 });
      // CPE 1 never ran a test: nothing of the diagnostics in its overlay (there is none at all).
      const untouched = h.shard.view(1).overlay;
      expect([...(untouched?.values?.keys() ?? [])].filter((k) => k.includes('Diagnostics'))).toEqual([]);
      const done = await completes(h, [spv('p', [`${PING}Host`, '192.0.2.5', 'string'], [`${PING}DiagnosticsState`, 'Requested', 'string'])], [gpv(`${PING}DiagnosticsState`, `${PING}SuccessCount`)]);
      const before = values(answers(done)[0]);
      // A second test is left in flight at the restart.
      await session(h, spv('t', [`${TRACE}Host`, '192.0.2.6', 'string'], [`${TRACE}DiagnosticsState`, 'Requested', 'string']));
      await until(() => h!.shard.diagnostics.dueAt(0) > 0);
      await settle(h);
      await h.stop();
      h = await boot({ stateDir: dir, cpes: 2 });
      const after = await session(h, gpv(`${PING}DiagnosticsState`, `${PING}SuccessCount`, `${TRACE}DiagnosticsState`));
      expect(values(answers(after)[0])).toEqual({ ...before, [`${TRACE}DiagnosticsState`]: 'None' });
    } finally {
      await h?.stop();
      h = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TR-143 over CWMP, TR-098 (InternetGatewayDevice.*Diagnostics)', () => {
  const IGD = 'InternetGatewayDevice.';
  it('Canceled is not a TR-098 state (9007); IPPingDiagnostics and TraceRouteDiagnostics run; DownloadDiagnostics reports Completed', async () => {
    files = await startFileServer({ 'speed.bin': 50_000 });
    h = await boot({ profileDir: tr098Profile });
    const bad = await session(h, spv('x', [`${IGD}IPPingDiagnostics.DiagnosticsState`, 'Canceled', 'string']));
    expect(answers(bad)[0]).toMatchObject({ method: 'Fault', fault: { code: 9003, setParameterValuesFaults: [{ name: `${IGD}IPPingDiagnostics.DiagnosticsState`, code: 9007 }] } });
    const ping = await completes(h, [spv('p', [`${IGD}IPPingDiagnostics.Host`, '192.0.2.1', 'string'], [`${IGD}IPPingDiagnostics.DiagnosticsState`, 'Requested', 'string'])], [gpv(`${IGD}IPPingDiagnostics.DiagnosticsState`, `${IGD}IPPingDiagnostics.NumberOfRepetitions`, `${IGD}IPPingDiagnostics.SuccessCount`, `${IGD}IPPingDiagnostics.FailureCount`)]);
    expect(events(ping.inform)).toEqual(['8 DIAGNOSTICS COMPLETE']);
    const p = values(answers(ping)[0]);
    expect(p[`${IGD}IPPingDiagnostics.DiagnosticsState`]).toBe('Complete');
    // NumberOfRepetitions 0 (the dump's default) runs the device's default of 3.
    expect(Number(p[`${IGD}IPPingDiagnostics.SuccessCount`]) + Number(p[`${IGD}IPPingDiagnostics.FailureCount`])).toBe(3);
    const trace = await completes(h, [spv('t', [`${IGD}TraceRouteDiagnostics.Host`, '192.0.2.2', 'string'], [`${IGD}TraceRouteDiagnostics.DiagnosticsState`, 'Requested', 'string'])], [gpv(`${IGD}TraceRouteDiagnostics.`)]);
    const t = values(answers(trace)[0]);
    expect(t[`${IGD}TraceRouteDiagnostics.DiagnosticsState`]).toBe('Complete');
    const n = Number(t[`${IGD}TraceRouteDiagnostics.RouteHopsNumberOfEntries`]);
    expect(t[`${IGD}TraceRouteDiagnostics.RouteHops.${n}.HopHostAddress`]).toBe('192.0.2.2');
    const dl = await completes(h, [spv('d', [`${IGD}DownloadDiagnostics.DownloadURL`, `${files.url}/files/speed.bin`, 'string'], [`${IGD}DownloadDiagnostics.DiagnosticsState`, 'Requested', 'string'])], [gpv(`${IGD}DownloadDiagnostics.DiagnosticsState`, `${IGD}DownloadDiagnostics.TestBytesReceived`)]);
    expect(values(answers(dl)[0])).toEqual({ [`${IGD}DownloadDiagnostics.DiagnosticsState`]: 'Completed', [`${IGD}DownloadDiagnostics.TestBytesReceived`]: '50000' });
  });
});
