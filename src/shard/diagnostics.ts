// TR-143 diagnostics of a shard's CPEs (docs/diagnostics.md), whichever protocol asks:
// over CWMP an ACS writes DiagnosticsState = Requested and the test runs once the session
// has ended, its results land in the CPE's overlay and `8 DIAGNOSTICS COMPLETE` opens a new
// session; over USP a controller runs the same test as an async command and gets its
// results in OperationComplete. Only a CPE with a test in flight holds anything here; a
// CPE that never ran one has nothing, not even in its overlay.
import type { Refusal } from '../datamodel/view.js';
import { checkWrite } from '../datamodel/view.js';
import type { CpeView } from '../datamodel/view.js';
import type { ProfileSpec } from '../profile/types.js';
import type { Clock } from '../scheduler/clock.js';
import { publishDiagnostic } from './diag-channel.js';
import { runHttpTest, type HttpTestResult } from './diag-http.js';
import { modelPing, modelServerSelection, modelTraceRoute, modelUdpEcho, resolveHost, type ModelResult } from './diag-model.js';
import { argsOf, DIAG_DEFS, DIAG_TESTS, HOP_FIELDS, stateOf, testOfParam, writableStates, type DiagOutcome, type DiagTest } from './diag-tests.js';
import { wholeMs } from '../scheduler/times.js';

/** Tests one CPE may have in flight at once (CWMP's one per object plus USP's commands). */
export const MAX_DIAGNOSTICS_PER_CPE = 8;

/** ServerSelectionDiagnostics.HostList: TR-181 allows at most 10 hosts. */
const MAX_HOSTS = 10;

export interface DiagnosticsHost {
  clock: Clock;
  seed: number;
  /** Global index of local CPE 0. */
  lo: number;
  profile: ProfileSpec;
  view(l: number): CpeView;
  keep(l: number, v: CpeView): void;
  /** Store the CPE's record (--state-dir). */
  durable(l: number): void;
  /** A CWMP test finished (not canceled): 8 DIAGNOSTICS COMPLETE. */
  completed(l: number): void;
  /** Wake at `at` for CPE l (TimerKind.Diagnostic). */
  schedule(at: number, l: number): void;
  /** The whole limit of a download or upload test. */
  transferTimeoutMs: number;
  /** Extra CA (--acs-ca-file) and the client certificate (--acs-cert/--acs-key) for https test servers, as for file transfers. */
  tls: { ca?: string; cert?: string; key?: string };
  log(level: 'debug' | 'warn', msg: string, extra: Record<string, unknown>): void;
}

/** A finished test: its DiagnosticsState / Status and outputs in TR-181 names. */
export interface DiagResult {
  test: DiagTest;
  outcome: DiagOutcome;
  status: string;
  outputs: Record<string, string>;
  hops: ModelResult['hops'];
}

interface Run {
  test: DiagTest;
  origin: 'cwmp' | 'usp';
  /** CWMP: waits for the session's end; then running. */
  started: boolean;
  inputs: Record<string, string>;
  /** A modelled test's result, reported at `dueAt`. */
  result?: DiagResult;
  dueAt: number;
  abort: AbortController;
  /** USP: where the result goes. */
  onDone?: (r: DiagResult) => void;
}

/** Default inputs of a USP command that leaves them out (TR-181's defaults where it has them). */
const DEFAULTS: Record<string, string> = {
  NumberOfRepetitions: '3',
  Timeout: '1000',
  DataBlockSize: '64',
  NumberOfTries: '3',
  MaxHopCount: '30',
  Port: '7',
  InterTransmissionTime: '1000',
  TestFileLength: '1048576',
  Protocol: 'ICMP',
};

export class Diagnostics {
  private readonly runs = new Map<number, Run[]>();
  private readonly root: 'Device' | 'InternetGatewayDevice';

  constructor(private readonly host: DiagnosticsHost) {
    this.root = host.profile.root;
  }

  // ---- CWMP: the DiagnosticsState rules ----

  /**
   * A SetParameterValues write this module refuses before anything is written: a
   * DiagnosticsState other than Requested (or Canceled, where the model has it) is 9007.
   */
  writeRule(path: string, value: string): Refusal | undefined {
    const hit = testOfParam(this.root, path);
    if (!hit || hit.rel !== 'DiagnosticsState') return undefined;
    const ok = writableStates(this.root);
    return ok.includes(value) ? undefined : { kind: 'range', reason: `DiagnosticsState may only be written as ${ok.join(' or ')}` };
  }

  /**
   * A SetParameterValues landed: Requested queues the test for the session's end (and
   * stops one running), Canceled stops it and reads back None, and a write of any other
   * parameter of the object stops its test and puts DiagnosticsState back to None.
   */
  written(l: number, names: readonly string[]): void {
    const touched = new Map<DiagTest, { obj: string; state: boolean }>();
    for (const n of names) {
      const hit = testOfParam(this.root, n);
      if (!hit) continue;
      const t = touched.get(hit.test) ?? { obj: hit.obj, state: false };
      if (hit.rel === 'DiagnosticsState') t.state = true;
      touched.set(hit.test, t);
    }
    if (touched.size === 0) return;
    const v = this.host.view(l);
    for (const [test, { obj, state }] of touched) {
      const had = this.drop(l, (r) => r.origin === 'cwmp' && r.test === test);
      if (had) this.count(test, 'cwmp', 'canceled', 0);
      const now = v.get(`${obj}DiagnosticsState`);
      if (state && now === 'Requested') {
        this.add(l, { test, origin: 'cwmp', started: false, inputs: {}, dueAt: 0, abort: new AbortController() });
        continue;
      }
      // Canceled, or another parameter written: TR-181 "set to None".
      if (now !== 'None') v.deviceSet(`${obj}DiagnosticsState`, 'None');
    }
    this.host.keep(l, v);
  }

  /** The session that asked for tests ended: they start now (TR-143: after the session). */
  sessionEnded(l: number): void {
    for (const r of this.runs.get(l) ?? []) {
      if (r.origin === 'cwmp' && !r.started) this.start(l, r);
    }
  }

  // ---- USP: the commands ----

  /**
   * Start a test for a USP command; its result goes to `onDone` (not called when it is
   * canceled). A refusal names the bad argument (USP 7027) or the CPE's limit (7005).
   */
  startUsp(l: number, test: DiagTest, args: Record<string, string>, onDone: (r: DiagResult) => void): { ok: true; start: () => void; cancel: () => void } | { ok: false; errCode: number; errMsg: string } {
    const def = DIAG_DEFS[test];
    const obj = def.paths.Device;
    const v = this.host.view(l);
    const inputs: Record<string, string> = {};
    for (const name of argsOf(test).input) {
      const given = args[name];
      if (given === undefined) continue;
      // The arguments are checked as the object's parameters of the same name are.
      const r = v.resolve(`${obj}${name}`);
      if (r?.kind === 'param') {
        const c = checkWrite(r.node, given);
        if (!c.ok) return { ok: false, errCode: 7027, errMsg: `${def.command}: invalid input ${name}: ${c.refusal.kind === 'type' || c.refusal.kind === 'range' ? c.refusal.reason : c.refusal.kind}` };
        inputs[name] = c.value;
      } else inputs[name] = given;
    }
    const need = test === 'download' ? 'DownloadURL' : test === 'upload' ? 'UploadURL' : test === 'serverSelection' ? 'HostList' : 'Host';
    if (!inputs[need]) return { ok: false, errCode: 7027, errMsg: `${def.command}: missing mandatory input ${need}` };
    if ((this.runs.get(l)?.length ?? 0) >= MAX_DIAGNOSTICS_PER_CPE) return { ok: false, errCode: 7005, errMsg: `Resources exceeded: ${MAX_DIAGNOSTICS_PER_CPE} tests already in flight on this CPE` };
    const run: Run = { test, origin: 'usp', started: false, inputs, dueAt: 0, abort: new AbortController(), onDone };
    this.add(l, run);
    return {
      ok: true,
      start: () => {
        if (this.live(l, run)) this.start(l, run);
      },
      cancel: () => {
        if (this.drop(l, (r) => r === run)) this.count(test, 'usp', 'canceled', 0);
      },
    };
  }

  // ---- running ----

  private add(l: number, r: Run): void {
    const list = this.runs.get(l) ?? [];
    list.push(r);
    this.runs.set(l, list);
  }

  /** Remove (and abort) the runs `pred` picks; whether there were any. */
  private drop(l: number, pred: (r: Run) => boolean): boolean {
    const list = this.runs.get(l);
    if (!list) return false;
    const gone = list.filter(pred);
    for (const r of gone) r.abort.abort();
    const rest = list.filter((r) => !pred(r));
    if (rest.length > 0) this.runs.set(l, rest);
    else this.runs.delete(l);
    return gone.length > 0;
  }

  private live(l: number, r: Run): boolean {
    return this.runs.get(l)?.includes(r) === true;
  }

  /** The inputs of a run: a CWMP run reads its object now; a USP run has its arguments, with defaults. */
  private input(l: number, r: Run, name: string): string {
    if (r.origin === 'cwmp') {
      const obj = DIAG_DEFS[r.test].paths[this.root]!;
      const v = this.host.view(l).get(`${obj}${name}`);
      if (v !== undefined && v !== '' && v !== '0') return v;
      return DEFAULTS[name] ?? v ?? '';
    }
    return r.inputs[name] ?? DEFAULTS[name] ?? '';
  }

  private start(l: number, r: Run): void {
    r.started = true;
    void this.execute(l, r).catch((e: unknown) => {
      // A bug costs this test (Error_Internal), never the shard.
      this.host.log('warn', 'diagnostic test failed internally', { cpe: l, test: r.test, error: (e as Error).message });
      if (this.live(l, r)) this.finish(l, r, { test: r.test, outcome: 'internal', status: stateOf(this.root, r.test, 'internal'), outputs: {}, hops: [] });
    });
  }

  private async execute(l: number, r: Run): Promise<void> {
    const num = (name: string): number => Number(this.input(l, r, name)) || Number(DEFAULTS[name]) || 0;
    const draw = { seed: this.host.seed, index: this.host.lo + l };
    const model = this.host.profile.settings.diagnostics;
    const used = this.addressUsed(l);
    const done = (m: ModelResult): void => {
      if (!this.live(l, r)) return;
      const result: DiagResult = { test: r.test, outcome: m.outcome, status: stateOf(this.root, r.test, m.outcome), outputs: m.outcome === 'complete' || m.outcome === 'maxHops' ? { IPAddressUsed: used, ...m.outputs } : {}, hops: m.hops };
      r.result = result;
      r.dueAt = this.host.clock.now() + m.durationMs;
      this.host.schedule(r.dueAt, l);
    };
    const fail = (o: DiagOutcome): void => {
      if (this.live(l, r)) this.finish(l, r, { test: r.test, outcome: o, status: stateOf(this.root, r.test, o), outputs: {}, hops: [] });
    };
    switch (r.test) {
      case 'ipPing':
      case 'traceRoute':
      case 'udpEcho': {
        const host = this.input(l, r, 'Host');
        const address = await resolveHost(host);
        if (address === undefined) return fail('resolve');
        if (r.test === 'ipPing') return done(modelPing(draw, model, host, address, num('NumberOfRepetitions'), num('Timeout'), num('DataBlockSize')));
        if (r.test === 'traceRoute') return done(modelTraceRoute(draw, model, host, address, num('NumberOfTries'), num('Timeout'), num('MaxHopCount')));
        return done(modelUdpEcho(draw, model, host, num('Port'), num('NumberOfRepetitions'), num('Timeout'), num('InterTransmissionTime')));
      }
      case 'serverSelection': {
        const list = this.input(l, r, 'HostList').split(',').map((h) => h.trim()).filter((h) => h !== '').slice(0, MAX_HOSTS);
        const found: Array<{ host: string; address: string }> = [];
        for (const host of list) {
          const address = await resolveHost(host);
          if (address !== undefined) found.push({ host, address });
        }
        if (found.length === 0) return fail('resolve');
        return done(modelServerSelection(draw, model, found, num('NumberOfRepetitions'), num('Timeout'), this.input(l, r, 'Protocol')));
      }
      case 'download':
      case 'upload': {
        const isGet = r.test === 'download';
        const out: HttpTestResult = await runHttpTest({
          method: isGet ? 'GET' : 'PUT',
          url: this.input(l, r, isGet ? 'DownloadURL' : 'UploadURL'),
          bytes: isGet ? undefined : num('TestFileLength'),
          maxBytes: this.host.profile.settings.maxDownloadBytes,
          timeoutMs: this.host.transferTimeoutMs,
          tls: this.host.tls,
          resolve: resolveHost,
          now: () => this.host.clock.now(),
          signal: r.abort.signal,
        });
        if (!this.live(l, r)) return;
        if (out.outcome !== 'complete') this.host.log('debug', 'diagnostic transfer failed', { cpe: l, test: r.test, why: out.detail });
        const outputs = out.outcome === 'complete' ? { IPAddressUsed: used, ...out.outputs } : {};
        this.finish(l, r, { test: r.test, outcome: out.outcome, status: stateOf(this.root, r.test, out.outcome), outputs, hops: [] }, out.testBytes);
        return;
      }
      default: {
        const never: never = r.test;
        throw new Error(`unknown test ${String(never)}`);
      }
    }
  }

  /** The address a CPE's tests leave from: its WAN IPv4 address (TR-181 IPAddressUsed). */
  private addressUsed(l: number): string {
    if (this.root !== 'Device') return '';
    return this.host.view(l).get('Device.IP.Interface.1.IPv4Address.1.IPAddress') ?? '';
  }

  /** TimerKind.Diagnostic: modelled tests due now report. */
  fire(l: number, at: number): void {
    for (const r of [...(this.runs.get(l) ?? [])]) {
      if (r.result && wholeMs(r.dueAt) === at && this.live(l, r)) this.finish(l, r, r.result);
    }
  }

  private finish(l: number, r: Run, result: DiagResult, bytes = 0): void {
    this.drop(l, (x) => x === r);
    this.count(r.test, r.origin, result.outcome === 'complete' ? 'complete' : 'error', bytes);
    if (r.origin === 'usp') {
      r.onDone?.(result);
      return;
    }
    this.writeResults(l, result);
    this.host.durable(l);
    this.host.completed(l);
  }

  /** CWMP results into the object (TR-098 names where they differ); a result the run did not produce goes back to its default. */
  private writeResults(l: number, res: DiagResult): void {
    const obj = DIAG_DEFS[res.test].paths[this.root]!;
    const v = this.host.view(l);
    for (const name of argsOf(res.test).output) {
      if (name === 'Status' || name.includes('{i}')) continue;
      const value = res.outputs[name];
      if (value !== undefined) v.deviceSet(`${obj}${name}`, value);
      else v.overlay?.values?.delete(`${obj}${name}`);
    }
    v.deviceSet(`${obj}DiagnosticsState`, res.status);
    if (res.test === 'traceRoute') {
      const table = `${obj}RouteHops.`;
      const rows = v.resolve(table);
      if (rows?.kind === 'table') {
        for (const n of [...v.rows(rows.node, rows.path, rows.inst)]) v.deviceDeleteRow(`${table}${n}.`);
        const [host, addr, code, times] = HOP_FIELDS[this.root];
        for (const h of res.hops) v.deviceAddRow(table, { [host]: h.host, [addr]: h.address, [code]: String(h.errorCode), [times]: h.rtTimes });
      }
    }
    this.host.keep(l, v);
  }

  private count(test: DiagTest, protocol: 'cwmp' | 'usp', result: 'complete' | 'error' | 'canceled', bytes: number): void {
    publishDiagnostic({ test, protocol, result, bytes });
  }

  // ---- power and the state dir ----

  /**
   * Power off (a reboot, a reset, a power cut): tests in flight die without a report, and
   * (TR-143) results do not survive a reboot: every diagnostics object the CPE wrote goes
   * back to its defaults. Returns whether the overlay changed.
   */
  powerOff(l: number): boolean {
    const list = this.runs.get(l) ?? [];
    for (const r of list) this.count(r.test, r.origin, 'canceled', 0);
    this.drop(l, () => true);
    return this.forget(l, () => true);
  }

  /**
   * After a restart from the state dir: a test that was Requested did not survive it (as
   * across a reboot) and its object goes back to its defaults; finished results stay.
   */
  restored(l: number): boolean {
    const v = this.host.view(l);
    return this.forget(l, (obj) => v.get(`${obj}DiagnosticsState`) === 'Requested');
  }

  private forget(l: number, which: (obj: string) => boolean): boolean {
    const v = this.host.view(l);
    const o = v.overlay;
    if (!o) return false;
    let changed = false;
    for (const t of DIAG_TESTS) {
      const obj = DIAG_DEFS[t].paths[this.root];
      if (!obj || !which(obj)) continue;
      // Values and rows go; attributes an ACS set (notification) stay, as on the device.
      for (const m of [o.values, o.tables]) {
        for (const k of m?.keys() ?? []) {
          if (!k.startsWith(obj)) continue;
          m!.delete(k);
          changed = true;
        }
      }
    }
    if (changed) this.host.keep(l, v);
    return changed;
  }

  // ---- for the admin API and tests ----

  /** Tests in flight on CPE l (waiting for the session's end or running). */
  inFlight(l: number): number {
    return this.runs.get(l)?.length ?? 0;
  }

  /** Started tests of CPE l still working for real (a name lookup, a transfer), not waiting on the clock. */
  working(l: number): number {
    return (this.runs.get(l) ?? []).filter((r) => r.started && !r.result).length;
  }

  /** When CPE l's next modelled result is due (0: none scheduled). */
  dueAt(l: number): number {
    let at = 0;
    for (const r of this.runs.get(l) ?? []) if (r.result && (at === 0 || r.dueAt < at)) at = r.dueAt;
    return at;
  }

  /** CPEs with a test in flight. */
  get size(): number {
    return this.runs.size;
  }
}

/** A test's result as USP output arguments (TR-181 names; TraceRoute's hops as RouteHops.{n}.Host...). */
export function uspOutputs(r: DiagResult): Record<string, string> {
  const out: Record<string, string> = { Status: r.status, ...r.outputs };
  r.hops.forEach((h, k) => {
    const p = `RouteHops.${k + 1}.`;
    out[`${p}Host`] = h.host;
    out[`${p}HostAddress`] = h.address;
    out[`${p}ErrorCode`] = String(h.errorCode);
    out[`${p}RTTimes`] = h.rtTimes;
  });
  return out;
}
