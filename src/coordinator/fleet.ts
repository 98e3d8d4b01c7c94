// Start and stop a whole fleet from a Config: the optional embedded mock ACS, the
// connection-request listener, and the sharded CPEs.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { serialize } from 'node:v8';
import { basename, resolve } from 'node:path';
import { toKebab, type Config, type HostPort } from '../config/options.js';
import { uspEnabled } from '../config/load.js';
import { AdminServer } from '../http/admin-server.js';
import { CrListener } from '../http/cr-listener.js';
import { MetricsHub } from '../metrics/hub.js';
import { ThreadMetrics } from '../metrics/thread-metrics.js';
import type { Logger } from '../log.js';
import type { MockAcs } from '../mock-acs/mock-acs.js';
import type { EmbeddedBroker } from '../broker/embedded.js';
import { LiveBuffer } from '../report/live.js';
import { Sampler } from '../scenario/sampler.js';
import type { ShardStats, UspInit, XmppInit } from '../threads/messages.js';
import { FdGate, FdMonitor, readFdLimit } from '../util/fds.js';
import { Coordinator, type RestartBackoff } from './coordinator.js';
import { CpeSimError } from '../util/errors.js';
import { loadProfile } from '../profile/load.js';

export interface Fleet {
  coordinator: Coordinator;
  cr: CrListener;
  admin: AdminServer | undefined;
  mockAcs: MockAcs | undefined;
  broker: EmbeddedBroker | undefined;
  /** '' for a USP-only fleet. */
  acsUrl: string;
  /** The MQTT broker the agents use, when USP is on (credentials hidden). */
  uspBrokerUrl: string | undefined;
  crBaseUrl: string;
  /** The shards' samples once a second (the live page's feed, a scenario's measurements); with --metrics-bind-addr or a scenario. */
  sampler: Sampler | undefined;
  stop(): Promise<ShardStats>;
}

export interface FleetOptions {
  /** Leave every CPE off at start: a scenario's stages power them on. */
  holdPower?: boolean;
  /** Sample the shards even without --metrics-bind-addr (a scenario measures). */
  sample?: boolean;
  /** Tests only: the shards obey test hooks (ShardInit.testHooks); no flag, env var or file sets it. */
  testHooks?: boolean;
  /** Tests only: another restart backoff than the default. */
  restartBackoff?: RestartBackoff;
}

function advertiseHost(bindHost: string): string {
  if (bindHost !== '0.0.0.0' && bindHost !== '::') return bindHost;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

const urlHost = (h: string) => (h.includes(':') ? `[${h}]` : h);

/**
 * A listener that could not open, as a config error naming the key and the flag to change:
 * `config: crBindAddr (--cr-bind-addr): 127.0.0.1:7548 is in use (EADDRINUSE)`.
 */
export function listenError(key: string, at: HostPort, e: unknown): CpeSimError {
  const code = (e as NodeJS.ErrnoException).code;
  const where = `${urlHost(at.host)}:${at.port}`;
  const why =
    code === 'EADDRINUSE' ? 'is in use (EADDRINUSE)'
    : code === 'EACCES' ? 'is not allowed to this user (EACCES: ports below 1024 need root or CAP_NET_BIND_SERVICE)'
    : code === 'EADDRNOTAVAIL' ? 'is not an address of this machine (EADDRNOTAVAIL)'
    : `cannot listen: ${(e as Error).message}`;
  return new CpeSimError('CONFIG_INVALID', `config: ${key} (--${toKebab(key)}): ${where} ${why}`);
}

/** `p`, its failure turned into listenError(key, at). */
const listening = <T>(key: string, at: HostPort, p: Promise<T>): Promise<T> =>
  p.catch((e: unknown) => {
    throw listenError(key, at, e);
  });

/** At most one warning per period for a recurring trouble, with how many were not logged. */
function rateLimitedWarn(log: Logger, msg: string, periodMs = 10_000): (extra: Record<string, unknown>) => void {
  let last = -Infinity;
  let suppressed = 0;
  return (extra) => {
    const now = Date.now();
    if (now - last < periodMs) {
      suppressed++;
      return;
    }
    log.warn({ ...extra, moreSinceLastWarning: suppressed }, msg);
    last = now;
    suppressed = 0;
  };
}

export async function startFleet(cfg: Config, log: Logger, opts: FleetOptions = {}): Promise<Fleet> {
  // The state dir keeps the CR secret, so connection-request URLs survive a restart.
  let crSecret = cfg.crSecret;
  let stateDir: string | undefined;
  if (cfg.stateDir) {
    stateDir = resolve(cfg.stateDir);
    // lmdb is loaded only by fleets that keep state.
    const { prepareStateDir } = await import('../persist/store.js');
    const kept = await prepareStateDir(stateDir, { seed: cfg.seed, fleetOffset: cfg.fleetOffset, cpes: cfg.cpes, profile: basename(resolve(cfg.profile)) }, cfg.crSecret, () => randomBytes(24).toString('hex'));
    crSecret = kept.crSecret;
    log.info({ stateDir, created: kept.created }, kept.created ? 'state dir created' : 'state dir opened: CPEs come back as they were');
  }

  // The profile is read once, here; the shards get it serialized (ShardInit.profileSpec).
  const profileSpec = serialize(loadProfile(resolve(cfg.profile)));

  // The descriptor gate every thread consults before it opens a socket, and its sampler
  // (README "Descriptors"): the last FD_RESERVE descriptors stay free for the listeners.
  const fdLimit = readFdLimit();
  const fdGate = FdGate.create(fdLimit.soft);
  const fdReadFailed = rateLimitedWarn(log, 'cannot count open file descriptors: /metrics keeps the last good count');
  const fdMonitor = new FdMonitor(fdGate, fdLimit, (err) => fdReadFailed({ err }));
  fdMonitor.start();
  let mockAcs: MockAcs | undefined;
  if (cfg.mockAcs) {
    // The mock ACS (node:http, the SOAP builder and parser) and the embedded broker (aedes)
    // are loaded only when asked for.
    const { MockAcs } = await import('../mock-acs/mock-acs.js');
    mockAcs = new MockAcs({ record: false, maxSessions: cfg.mockAcsMaxSessions, retryAfterSeconds: cfg.mockAcsRetryAfter, latency: cfg.mockAcsLatency });
    try {
      await listening('mockAcs', cfg.mockAcs, mockAcs.listen(cfg.mockAcs.host, cfg.mockAcs.port));
    } catch (e) {
      fdMonitor.stop();
      throw e;
    }
    log.info({ url: mockAcs.url, stats: `${mockAcs.url}stats`, maxSessions: cfg.mockAcsMaxSessions || 'unlimited', latencyMs: cfg.mockAcsLatency }, 'embedded mock ACS listening');
  }
  const acsUrl = cfg.acsUrl ?? mockAcs?.url ?? '';
  let broker: EmbeddedBroker | undefined;
  let usp: UspInit | undefined;
  if (uspEnabled(cfg)) {
    try {
      if (cfg.uspBroker?.mode === 'embedded') {
        const acceptFailed = rateLimitedWarn(log, 'embedded MQTT broker: cannot accept a connection');
        const { startEmbeddedBroker } = await import('../broker/embedded.js');
        broker = await listening('uspEmbeddedBind', cfg.uspEmbeddedBind, startEmbeddedBroker({ host: cfg.uspEmbeddedBind.host, port: cfg.uspEmbeddedBind.port, onAcceptError: (err) => acceptFailed({ err: err.message, code: err.code }) }));
        log.info({ url: broker.url }, 'embedded MQTT broker (aedes, MQTT 3.1.1) listening');
      }
    } catch (e) {
      await mockAcs?.close();
      fdMonitor.stop();
      throw e;
    }
    usp = uspInitOf(cfg, broker?.url ?? (cfg.uspBroker?.mode === 'url' ? cfg.uspBroker.url : (cfg.uspControllerUrl ?? `ws://${urlHost(cfg.uspWsListen!.host)}:${cfg.uspWsListen!.port}`)));
  }

  let coordinator: Coordinator | undefined;
  const mainMetrics = cfg.metricsBindAddr ? new ThreadMetrics() : undefined;
  const hub = mainMetrics ? new MetricsHub(mainMetrics, () => coordinator?.liveShards ?? 0, fdMonitor) : undefined;
  const cr = new CrListener((cpe, req) => (coordinator ? coordinator.connectionRequest(cpe, req) : Promise.resolve({ status: 503, headers: {} })));
  let port: number;
  try {
    port = await listening('crBindAddr', cfg.crBindAddr, cr.listen(cfg.crBindAddr.host, cfg.crBindAddr.port));
  } catch (e) {
    await mockAcs?.close();
    await broker?.close();
    fdMonitor.stop();
    throw e;
  }
  const crBaseUrl = `http://${urlHost(cfg.crAdvertiseHost ?? advertiseHost(cfg.crBindAddr.host))}:${port}`;
  log.info({ bind: `${cfg.crBindAddr.host}:${port}`, advertised: crBaseUrl }, 'connection-request listener up');
  // One UDP socket per shard for STUN and UDP connection requests (docs/cwmp-behaviour.md "UDP connection requests and STUN").
  const udpBind = cfg.udpCrBindAddr ?? { host: cfg.crBindAddr.host, port: 0 };

  coordinator = new Coordinator(
    {
      fleetOffset: cfg.fleetOffset,
      fleetSize: cfg.cpes,
      seed: cfg.seed,
      profileDir: resolve(cfg.profile),
      profileSpec,
      acs: { url: acsUrl, username: cfg.acsUsername, password: cfg.acsPassword, timeoutMs: cfg.acsTimeout * 1000, sessionTimeoutMs: cfg.sessionTimeout * 1000, caFile: cfg.acsCaFile, certFile: cfg.acsCert, keyFile: cfg.acsKey },
      maxSessions: cfg.maxSessions,
      stopGraceMs: cfg.stopGrace * 1000,
      ...(stateDir ? { stateDir } : {}),
      cwmp: cfg.acsUrl !== undefined || mockAcs !== undefined,
      usp,
      ...(cfg.xmppServer ? { xmpp: xmppInitOf(cfg) } : {}),
      transfers: cfg.transfers,
      bootRamp: cfg.bootRamp,
      startAt: Date.now(),
      cr: { baseUrl: crBaseUrl, secret: crSecret ?? randomBytes(24).toString('hex'), rateLimit: cfg.crRateLimit, username: cfg.crUsername, password: cfg.crPassword },
      udpCr: {
        host: udpBind.host,
        port: udpBind.port,
        advertiseHost: cfg.crAdvertiseHost ?? advertiseHost(udpBind.host),
        stunServer: cfg.stunServer,
      },
      logLevel: cfg.logLevel,
      logFormat: cfg.logFormat,
      metrics: hub !== undefined,
      // A socket to an in-process peer costs this process two descriptors.
      fds: { gate: fdGate.buffer, perMqtt: cfg.uspBroker?.mode === 'embedded' ? 2 : 1, perAcs: mockAcs && cfg.acsUrl === undefined ? 2 : 1 },
      ...(opts.holdPower ? { holdPower: true } : {}),
    },
    cfg.shards,
    (shardId, detail, restart) => {
      mainMetrics?.catalog.shardRestarts.inc({ reason: restart.reason });
      log.error({ shard: shardId, reason: restart.reason, detail, delayMs: restart.delayMs }, `shard ${shardId} thread died (${restart.reason}); restarting it in ${restart.delayMs / 1000} s (its CPEs boot again${stateDir ? ", as the state dir kept them" : ", as new: no --state-dir"})`);
    },
    (shardId, snapshot, gen) => hub?.update(`${shardId}:${gen}`, snapshot),
    (shardId, gen) => hub?.retire(`${shardId}:${gen}`),
    { shardHeapMb: cfg.shardHeapMb, ...(opts.testHooks ? { testHooks: true } : {}), ...(opts.restartBackoff ? { restartBackoff: opts.restartBackoff } : {}) },
  );
  log.info({ shards: coordinator.plan.shards, heapMbPerShard: coordinator.heapMb }, 'shard threads heap cap');
  const c = coordinator;
  const live = cfg.metricsBindAddr ? new LiveBuffer() : undefined;
  const sampler = live || opts.sample ? new Sampler(c, (p) => live?.push(p)) : undefined;
  let admin: AdminServer | undefined;
  try {
    // Bind before any CPE powers on: a taken port fails the run before it informs anyone.
    if (cfg.metricsBindAddr && hub && mainMetrics) {
      admin = new AdminServer(c, hub, mainMetrics.catalog, cfg.adminToken, live);
      const port = await listening('metricsBindAddr', cfg.metricsBindAddr, admin.listen(cfg.metricsBindAddr.host, cfg.metricsBindAddr.port));
      log.info({ bind: `${cfg.metricsBindAddr.host}:${port}`, token: cfg.adminToken ? 'required' : 'none' }, 'metrics and admin listener up');
    }
    await coordinator.start();
    sampler?.start();
  } catch (e) {
    admin?.close();
    mainMetrics?.close();
    cr.close();
    await coordinator.stop().catch(() => undefined);
    await mockAcs?.close();
    await broker?.close();
    fdMonitor.stop();
    throw e;
  }
  return {
    coordinator: c,
    cr,
    admin,
    mockAcs,
    broker,
    acsUrl,
    uspBrokerUrl: usp?.brokerLabel,
    crBaseUrl,
    sampler,
    async stop() {
      sampler?.stop();
      admin?.close();
      mainMetrics?.close();
      cr.close();
      const stats = await c.stop();
      if (mockAcs) log.info({ mockAcs: mockAcs.counts() }, 'embedded mock ACS counts');
      await mockAcs?.close();
      await broker?.close();
      fdMonitor.stop();
      return stats;
    },
  };
}

/** --xmpp-* as the shards take them (patterns unfilled; the CA file read once). */
function xmppInitOf(cfg: Config): XmppInit {
  return {
    server: cfg.xmppServer,
    domain: cfg.xmppDomain,
    username: cfg.xmppUsername,
    password: cfg.xmppPassword,
    allowedJids: cfg.xmppAllowedJids,
    useTls: cfg.xmppUseTls,
    ca: cfg.xmppCaFile ? readFileSync(cfg.xmppCaFile, 'utf8') : undefined,
  };
}

/** The agents' settings from --usp-*; the broker label drops any credentials in the URL. */
function uspInitOf(cfg: Config, brokerUrl: string): UspInit {
  const u = new URL(brokerUrl);
  return {
    mtp: cfg.uspMtp,
    ...(cfg.uspWsListen ? { wsListen: cfg.uspWsListen } : {}),
    brokerUrl,
    brokerLabel: `${u.protocol}//${u.host}`,
    protocolVersion: cfg.uspMqttVersion === '5' ? 5 : 4,
    endpointId: cfg.uspEndpointId,
    agentTopic: cfg.uspAgentTopic,
    controllerId: cfg.uspControllerId,
    controllerTopic: cfg.uspControllerTopic,
    username: cfg.uspMqttUsername,
    password: cfg.uspMqttPassword,
    secret: cfg.uspMqttSecret,
    ca: cfg.uspCaFile ? readFileSync(cfg.uspCaFile, 'utf8') : undefined,
    cert: cfg.uspCert ? readFileSync(cfg.uspCert, 'utf8') : undefined,
    key: cfg.uspKey ? readFileSync(cfg.uspKey, 'utf8') : undefined,
  };
}
