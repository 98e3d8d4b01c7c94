// An in-process shard (no worker thread) driven by a fake clock, a mock ACS over real
// HTTP and, when asked, the real connection-request listener in front of it.
import { fileURLToPath } from 'node:url';
import type { BootRamp } from '../../src/config/options.js';
import type { ShardInit, UdpCrInit, UspInit, XmppInit } from '../../src/threads/messages.js';
import type { AcsOutgoingRequest, Inform, XsdType } from '../../src/cwmp/types.js';
import { CrListener } from '../../src/http/cr-listener.js';
import { MockAcs, type MockAcsOptions } from '../../src/mock-acs/mock-acs.js';
import { compileProfile } from '../../src/profile/compile.js';
import { loadProfile } from '../../src/profile/load.js';
import type { ProfileSpec } from '../../src/profile/types.js';
import { FakeClock } from '../../src/scheduler/clock.js';
import type { CwmpSide } from '../../src/shard/cwmp-side.js';
import { loadShardFeatures } from '../../src/shard/features.js';
import { Shard } from '../../src/shard/shard.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const exampleProfile = `${repoRoot}profiles/example-tr181-gateway`;
export const tr098Profile = `${repoRoot}profiles/huawei-bm632w-tr098`;
export const fixture = (p: string): string => `${repoRoot}test/fixtures/${p}`;

export interface HarnessOptions {
  cpes?: number;
  lo?: number;
  seed?: number;
  profileDir?: string;
  acs?: MockAcsOptions;
  acsUrl?: string;
  acsCreds?: { username: string; password: string };
  acsCaFile?: string;
  /** --acs-cert / --acs-key: the client certificate the CPEs present. */
  acsCert?: { certFile: string; keyFile: string };
  /** ACS reply timeout; transfers get twice this. */
  acsTimeoutMs?: number;
  /** A whole session's limit (--session-timeout; default 600 s). */
  sessionTimeoutMs?: number;
  /** How long stop() waits for sessions in flight (--stop-grace; default 10 s). */
  stopGraceMs?: number;
  /** --state-dir: the shard loads its CPEs' records and stores writes. */
  stateDir?: string;
  /** The fake clock's start (epoch ms; default: now). */
  clockStart?: number;
  transfers?: 'fetch' | 'skip';
  maxSessions?: number;
  bootRamp?: BootRamp;
  cr?: boolean;
  crRateLimit?: { count: number; periodSec: number };
  /** Nonces the CR replay cache holds (src/shard/connection-request.ts). */
  crNonceCache?: number;
  crSecret?: string;
  crCreds?: { username?: string; password?: string };
  /** Make the CPEs USP agents too (fill in brokerUrl; see uspInit()). */
  usp?: UspInit;
  /** XMPP connection requests (--xmpp-*; TR-069 Annex K). */
  xmpp?: XmppInit;
  /** [0, 1) for retry windows and jitter (Math.random by default): pins where a retry lands. */
  random?: () => number;
  /** false: a USP-only fleet (no CWMP sessions). */
  cwmp?: boolean;
  /** Leave every CPE off at start (a scenario powers them on with fleet events). */
  holdPower?: boolean;
  /** The shard's UDP connection-request and STUN socket (opened before the shard starts). */
  udpCr?: UdpCrInit;
}

/** USP settings as the CLI's defaults would give them, on the given broker. */
export function uspInit(brokerUrl: string, o: Partial<UspInit> = {}): UspInit {
  return {
    mtp: 'mqtt',
    brokerUrl,
    brokerLabel: brokerUrl,
    protocolVersion: 4,
    endpointId: 'os::{oui}-{serial}',
    agentTopic: '/usp/agent/{endpointId}',
    controllerId: 'self::usp-controller',
    controllerTopic: '/usp/controller',
    username: undefined,
    password: undefined,
    secret: undefined,
    ca: undefined,
    ...o,
  };
}

export interface Harness {
  shard: Shard;
  /** The shard's CWMP side (throws in a USP-only harness, cwmp: false). */
  readonly cwmp: CwmpSide;
  acs: MockAcs;
  clock: FakeClock;
  cr: CrListener | undefined;
  crBase: string;
  profile: ProfileSpec;
  /** Fire everything due now (boots, retries, periodic informs). */
  tick(ms?: number): void;
  stop(): Promise<void>;
}

export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const acs = new MockAcs(o.acs);
  const acsUrl = o.acsUrl ?? (await acs.listen());
  const clock = new FakeClock(o.clockStart);
  let cr: CrListener | undefined;
  let shardRef: Shard | undefined;
  let crBase = 'http://127.0.0.1:9';
  if (o.cr) {
    cr = new CrListener(async (cpe, req) => shardRef!.cr.handle(cpe, req));
    const port = await cr.listen('127.0.0.1', 0);
    crBase = `http://127.0.0.1:${port}`;
  }
  const profile = loadProfile(o.profileDir ?? exampleProfile);
  const template = compileProfile(profile);
  const lo = o.lo ?? 0;
  const cpes = o.cpes ?? 1;
  const init: ShardInit = {
    shardId: 0,
    lo,
    hi: lo + cpes,
    fleetOffset: lo,
    fleetSize: cpes,
    seed: o.seed ?? 1,
    profileDir: profile.dir,
    acs: { url: acsUrl, username: o.acsCreds?.username ?? '', password: o.acsCreds?.password ?? '', timeoutMs: o.acsTimeoutMs ?? 5000, sessionTimeoutMs: o.sessionTimeoutMs ?? 600_000, caFile: o.acsCaFile, certFile: o.acsCert?.certFile, keyFile: o.acsCert?.keyFile },
    ...(o.stopGraceMs !== undefined ? { stopGraceMs: o.stopGraceMs } : {}),
    ...(o.stateDir !== undefined ? { stateDir: o.stateDir } : {}),
    maxSessions: o.maxSessions ?? 16,
    cwmp: o.cwmp ?? true,
    usp: o.usp,
    ...(o.xmpp ? { xmpp: o.xmpp } : {}),
    transfers: o.transfers ?? 'fetch',
    bootRamp: o.bootRamp ?? { mode: 'none' },
    startAt: clock.now(),
    cr: { baseUrl: crBase, secret: o.crSecret ?? 'test-secret', rateLimit: o.crRateLimit ?? { count: 10, periodSec: 60 }, nonceCache: o.crNonceCache, ...o.crCreds },
    logLevel: 'silent',
    logFormat: 'json',
    ...(o.holdPower ? { holdPower: true } : {}),
    ...(o.udpCr ? { udpCr: o.udpCr } : {}),
  };
  const shard = new Shard(init, { clock, profile, template, features: await loadShardFeatures(init), ...(o.random ? { random: o.random } : {}), ...(process.env['HARNESS_LOG'] ? { log: (level, msg, extra) => process.stderr.write(`${level} ${msg} ${JSON.stringify(extra ?? {})}\n`) } : {}) });
  shardRef = shard;
  await shard.openSockets();
  shard.start();
  return {
    shard,
    get cwmp(): CwmpSide {
      if (!shard.cwmp) throw new Error('this harness runs no CWMP side (cwmp: false)');
      return shard.cwmp;
    },
    acs,
    clock,
    cr,
    crBase,
    profile,
    tick: (ms = 0) => clock.advance(ms),
    async stop() {
      cr?.close();
      await shard.stop();
      await acs.close();
    },
  };
}

/** The GenieACS-style device id of CPE `index` in a harness. */
export function deviceIdOf(h: Harness, index: number): string {
  const id = h.shard.env.identity(index);
  const enc = (s: string) => s.replace(/[^A-Za-z0-9_]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return `${enc(id.oui)}-${enc(id.productClass)}-${enc(id.serial)}`;
}

export const eventCodes = (s: { inform: { events: Array<{ code: string }> } }): string[] => s.inform.events.map((e) => e.code);

/** An Inform's events as "code" or "code:CommandKey", in order. */
export const events = (i: Inform): string[] => i.events.map((e) => `${e.code}${e.commandKey ? `:${e.commandKey}` : ''}`);

/** The profile's reboot dark window (settings.rebootSeconds) in ms: a reboot's boot is due this long after it. */
export const rebootMs = (h: Harness): number => h.profile.settings.rebootSeconds * 1000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until pred() holds (for state that settles just after the ACS's last reply). */
export async function until(pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Power CPE 0 on, let its bootstrap session end and wait until it is ready. */
export async function bootstrapped(h: Harness): Promise<void> {
  h.tick();
  await h.acs.waitFor(() => h.acs.sessions[0]?.ended === true, 10_000, 'bootstrap session');
  await until(() => h.shard.lifecycle(0) === 'ready');
}

/** Wait for Inform #informs to have failed and CPE 0's retry to be scheduled; ms until the retry. */
export async function retryScheduled(h: Harness, informs: number): Promise<number> {
  await h.acs.waitFor(() => h.acs.informCount >= informs, 10_000, `inform #${informs}`);
  await until(() => h.cwmp.retryDueAt(0) > 0 && h.shard.lifecycle(0) === 'failed', 10_000, 'retry scheduled');
  return h.cwmp.retryDueAt(0) - h.clock.now();
}

export const isBootstrap = (i: Inform): boolean => i.events.some((e) => e.code === '0 BOOTSTRAP');

/** A mock-ACS script that sends `requests` in bootstrap sessions only. */
export const atBootstrap =
  (...requests: AcsOutgoingRequest[]) =>
  (inform: Inform): AcsOutgoingRequest[] | undefined =>
    isBootstrap(inform) ? requests : undefined;

/** SetParameterValues of [name, value, type] triples. */
export const spv = (parameterKey: string, ...params: Array<[string, string, XsdType]>): AcsOutgoingRequest => ({
  method: 'SetParameterValues',
  params: params.map(([name, value, type]) => ({ name, value, type })),
  parameterKey,
});
