#!/usr/bin/env node
// cpe-sim: start a fleet of simulated CPEs against an ACS.
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadConfig } from '../config/load.js';
import { OPTIONS, toEnv, toKebab } from '../config/options.js';
import { startFleet } from '../coordinator/fleet.js';
import { createLogger } from '../log.js';
import { compileProfile } from '../profile/compile.js';
import { loadProfile } from '../profile/load.js';
import { ConfigError, CpeSimError } from '../util/errors.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  let parser = yargs(argv)
    .scriptName('cpe-sim')
    .usage('$0 --profile DIR --acs-url URL --cpes N [options]\n\nEvery option is also an environment variable CPE_SIM_<NAME> and a camelCase key of the --config YAML file; a flag beats the environment, which beats the file.')
    .version(false)
    .help('help')
    .alias('h', 'help')
    .alias('v', 'version')
    .strict()
    .wrap(Math.min(110, process.stdout.columns || 110));
  for (const o of OPTIONS) {
    parser = parser.option(toKebab(o.key), {
      type: o.kind.t === 'bool' ? 'boolean' : 'string',
      describe: `${o.describe} [env ${toEnv(o.key)}]`,
      defaultDescription: o.defaultText ?? (o.default !== undefined ? String(o.default) : undefined),
    });
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = await parser.fail((msg, err) => {
      throw err ?? new CpeSimError('CONFIG_INVALID', `config: ${msg}`);
    }).parseAsync();
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const flags: Record<string, unknown> = {};
  for (const o of OPTIONS) if (parsed[toKebab(o.key)] !== undefined) flags[o.key] = parsed[toKebab(o.key)];

  let cfg;
  try {
    cfg = loadConfig({ flags, env: process.env });
    if (cfg.version) {
      process.stdout.write(`cpe-sim ${version()}\n`);
      return 0;
    }
    // Fail fast, before any thread starts, on a profile error.
    const profile = loadProfile(cfg.profile);
    const template = compileProfile(profile);
    // The shards refuse it too, but only after the listeners and threads are up, and their
    // error reaches the user only through the log (nothing at all under --log-level silent).
    if (cfg.uspBroker && template.rootName !== 'Device') {
      throw new ConfigError(`config: uspBroker: USP needs a TR-181 Device:2 profile (root "Device"); profile ${profile.name} has root "${template.rootName}"`);
    }
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const log = createLogger(cfg.logLevel, cfg.logFormat);
  log.info({ cpes: cfg.cpes, shards: cfg.shards, profile: cfg.profile, seed: cfg.seed }, 'starting fleet');
  const started = Date.now();
  let fleet;
  try {
    fleet = await startFleet(cfg, log);
  } catch (e) {
    log.error({ err: (e as Error).message }, 'fleet failed to start');
    return 1;
  }
  log.info({ acs: fleet.acsUrl || 'none (USP only)', usp: fleet.uspBrokerUrl ?? 'off', shards: fleet.coordinator.shardCount, paramsDeclared: fleet.coordinator.paramCount }, 'fleet started');
  const first = await fleet.coordinator.inspect(cfg.fleetOffset).catch(() => null);
  if (first && cfg.uspBroker) {
    const d = await fleet.coordinator.detail(cfg.fleetOffset).catch(() => null);
    log.info({ cpe: first.id, endpointId: d?.usp?.endpointId, controller: cfg.uspControllerId, controllerTopic: cfg.uspControllerTopic, mqtt: cfg.uspMqttVersion }, 'USP agents: one MQTT connection each; requests to each agent\'s own topic');
  }
  if (first && fleet.acsUrl !== '') {
    log.info(
      { cpe: first.id, serial: first.serial, crUrl: first.crUrl, crUsername: first.crUsername, crPassword: cfg.crPassword ? 'as --cr-password' : 'hidden: set --cr-password, or set ConnectionRequestPassword from the ACS' },
      'connection requests: HTTP GET with Digest',
    );
  }
  const progress = setInterval(() => {
    void fleet.coordinator.stats().then((s) => {
      const failures = Object.keys(s.failReasons).length > 0 ? { failReasons: s.failReasons } : {};
      log.info({ ...s.states, bootstraps: s.bootstraps, sessionsOk: s.sessionsOk, sessionsFailed: s.sessionsFailed, active: s.activeSessions, queued: s.queuedSessions, ...failures, ...(s.uspConnections ? { mqtt: s.uspConnections } : {}) }, 'progress');
    }, (e: Error) => log.warn({ err: e.message }, 'progress unavailable'));
  }, 5000);
  // Daemon mode: something long-lived (the metrics/admin listener, the embedded mock ACS,
  // a --duration) keeps the fleet running until SIGINT/SIGTERM or the duration. Otherwise
  // the run is a bootstrap: once every CPE has powered on and finished its first session,
  // print a summary and exit, non-zero when CPEs failed.
  const daemon = cfg.metricsBindAddr !== undefined || cfg.mockAcs !== undefined || cfg.uspBroker?.mode === 'embedded' || cfg.duration > 0;
  let interrupted = false;
  await new Promise<void>((resolve) => {
    const stop = () => {
      interrupted = true;
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (cfg.duration > 0) setTimeout(resolve, cfg.duration * 1000).unref();
    if (!daemon) {
      const check = setInterval(() => {
        void fleet.coordinator.stats().then((s) => {
          const answered = s.states.new + s.states.bootstrapping + s.states.ready + s.states.failed === cfg.cpes;
          if (answered && s.states.new === 0 && s.states.bootstrapping === 0) {
            clearInterval(check);
            resolve();
          }
        }, () => undefined);
      }, 250);
    }
  });
  clearInterval(progress);
  const stats = await fleet.stop();
  const summary = { ...stats.states, bootstraps: stats.bootstraps, sessionsOk: stats.sessionsOk, sessionsFailed: stats.sessionsFailed, failReasons: stats.failReasons, ...(stats.uspConnections ? { mqtt: stats.uspConnections } : {}), seconds: (Date.now() - started) / 1000 };
  log.info(summary, daemon ? 'fleet stopped' : 'bootstrap run finished');
  if (!daemon) process.stdout.write(`${JSON.stringify({ summary })}\n`);
  if (!daemon && !interrupted && stats.states.failed > 0) return 1;
  return 0;
}

main(hideBin(process.argv)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`cpe-sim: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
