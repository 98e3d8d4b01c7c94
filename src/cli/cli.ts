// cpe-sim: start a fleet of simulated CPEs against an ACS (loaded by ./main.ts, the entry).
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadConfig, uspEnabled } from '../config/load.js';
import { OPTIONS, toEnv, toKebab } from '../config/options.js';
import { resolveScenario, shippedProfiles, shippedScenarios } from '../config/profile-path.js';
import { fdBudget, fdRefusal, type FdBudget } from '../coordinator/fd-budget.js';
import { startFleet, type Fleet } from '../coordinator/fleet.js';
import { createLogger, type Logger } from '../log.js';
import type { LiveLine } from './live-line.js';
import { PROGRESS_SECONDS, SessionRate, StatsTicker, statusLine } from './progress.js';
import { compileProfile } from '../profile/compile.js';
import { loadProfile } from '../profile/load.js';
import type { ProfileSpec } from '../profile/types.js';
import { ConfigError, CpeSimError } from '../util/errors.js';
import type { Config } from '../config/options.js';
import type { Scenario, Target } from '../scenario/model.js';
import { parseScenario } from '../scenario/parse.js';
import { expectedSize, ScenarioRunner } from '../scenario/runner.js';
import { formatEnd } from '../scenario/end-summary.js';
import { totalsSince } from '../scenario/measure.js';
import { StateDirError } from '../persist/state-dir-error.js';
import { outsideFleet } from '../scenario/target.js';
import { readFdLimit } from '../util/fds.js';
import { didYouMean } from '../util/suggest.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** What --help says after the options: the run modes and their exit codes. */
const RUN_MODES = `Run modes and exit codes:
  bootstrap run  nothing long-lived configured: each CPE powers on and ends its
                 first session, then a JSON summary on stdout; exit 0 when every
                 CPE bootstrapped, 1 when some failed
  daemon         --metrics-bind-addr, --mock-acs, USP (--usp-broker, embedded or
                 not, --usp-controller-url, --usp-ws-listen) or --duration: runs,
                 logs "all N ready in X s" once, informs and answers until
                 SIGINT/SIGTERM (exit 0) or the --duration ends it: then a JSON
                 summary on stdout; exit 1 when every CWMP session failed (or, USP
                 only, no agent was connected at the end), else 0
  scenario run   cpe-sim run FILE: exit 0 when every threshold held, 99 when one
                 failed
  any mode       exit 2: a bad option, profile or scenario file, refused before
                 anything starts; exit 1: the fleet could not start (e.g. a
                 listener's address in use: the message names its flag)
  signals        SIGINT/SIGTERM stops the fleet cleanly, also during start-up
                 (as soon as the fleet is up): a daemon or a bootstrap run exits 0
                 (a bootstrap run with its summary), a scenario run is judged on
                 what ran (0 or 99); a second signal exits at once with 130`;

const EXAMPLES: [string, string][] = [
  ['$0 --mock-acs 127.0.0.1:7647 --cpes 1000 --boot-ramp 200/s --metrics-bind-addr 127.0.0.1:9100', 'A daemon: 1,000 CPEs against the embedded mock ACS, metrics on :9100; Ctrl-C stops it'],
  ['$0 --acs-url http://acs.example:7547/ --cpes 10000 --cr-bind-addr 0.0.0.0:7548 --cr-advertise-host 192.0.2.10', 'A bootstrap run: 10,000 CPEs inform your ACS once each, then a summary and the exit code'],
  ['$0 run scenarios/boot-storm.yaml --acs-url http://acs.example:7547/ --report report/', 'A scenario run against your ACS, with a report in report/'],
];

/**
 * yargs' "Unknown argument(s): a, b" as ours: each unknown flag with the closest known one,
 * each stray word as an unexpected argument.
 */
function unknownFlags(msg: string, argv: string[], scenarioRun: boolean): string | undefined {
  const m = /^Unknown arguments?: (.*)$/.exec(msg);
  if (!m) return undefined;
  const known = [...OPTIONS.map((o) => `--${toKebab(o.key)}`), '--help', '--version', ...(scenarioRun ? ['--report'] : [])];
  const typed = new Set(argv.filter((a) => a.startsWith('-')).map((a) => a.replace(/^-+/, '').replace(/=.*$/, '')));
  const said = new Set<string>();
  const out: string[] = [];
  for (const name of m[1]!.split(', ')) {
    // yargs names each unknown flag twice, as typed and camelCased: only the typed one counts.
    if (typed.has(name)) {
      const flag = `${name.length === 1 ? '-' : '--'}${name}`;
      if (!said.has(flag)) out.push(`unknown flag ${flag}${didYouMean(flag, known)}`);
      said.add(flag);
    } else if (argv.includes(name)) {
      out.push(`unexpected argument ${JSON.stringify(name)}${scenarioRun ? ' (one scenario file at a time)' : ' (options are flags: --name value; a scenario runs as cpe-sim run FILE)'}`);
    }
  }
  return out.length > 0 ? out.join('; ') : undefined;
}

export async function main(argv: string[]): Promise<number> {
  const scenarioRun = argv[0] === 'run';
  const helping = argv.includes('--help') || argv.includes('-h');
  let parser = yargs(scenarioRun ? argv.slice(1) : argv)
    .scriptName('cpe-sim')
    .usage(
      scenarioRun
        ? '$0 run SCENARIO.yaml [--report DIR] [options]\n\nRun a load test written as a file (docs/scenarios.md). Options as for a plain run; the scenario\'s options: map sits between the environment and --config.'
        : '$0 --profile DIR --acs-url URL --cpes N [options]\n$0 run SCENARIO.yaml [--report DIR] [options]\n\nEvery option is also an environment variable CPE_SIM_<NAME> and a camelCase key of the --config YAML file; a flag beats the environment, which beats the file.',
    )
    .epilogue(RUN_MODES)
    .example(EXAMPLES)
    .version(false)
    .help('help')
    .alias('h', 'help')
    .alias('v', 'version')
    .strict()
    .wrap(Math.min(110, process.stdout.columns || 110));
  for (const o of OPTIONS) {
    // Numbers show as [number] in --help. Parsed, they stay text as typed: yargs would turn
    // `--cpes lots` into NaN and `0x10` into 16, where the config loader gives a precise refusal.
    const numeric = helping && (o.kind.t === 'int' || o.kind.t === 'seconds');
    parser = parser.option(toKebab(o.key), {
      type: o.kind.t === 'bool' ? 'boolean' : numeric ? 'number' : 'string',
      describe: `${o.describe} [env ${toEnv(o.key)}]`,
      defaultDescription: o.defaultText ?? (o.default !== undefined ? String(o.default) : undefined),
    });
  }
  if (scenarioRun) {
    parser = parser
      .option('report', { type: 'string', describe: 'Write summary.json and report.html into this folder at the end of the run (created if missing)' })
      .demandCommand(1, 1, 'give the scenario file: cpe-sim run SCENARIO.yaml', 'one scenario file at a time: cpe-sim run SCENARIO.yaml');
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = await parser.fail((msg, err) => {
      throw err ?? new CpeSimError('CONFIG_INVALID', `config: ${unknownFlags(msg, scenarioRun ? argv.slice(1) : argv, scenarioRun) ?? msg}`);
    }).parseAsync();
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const flags: Record<string, unknown> = {};
  for (const o of OPTIONS) if (parsed[toKebab(o.key)] !== undefined) flags[o.key] = parsed[toKebab(o.key)];
  if (scenarioRun) {
    const file = String((parsed['_'] as unknown[])[0]);
    const report = parsed['report'] as string | undefined;
    if (report === '') {
      process.stderr.write('config: --report: expected a folder to write summary.json and report.html into\n');
      return 2;
    }
    return runScenario(file, flags, report);
  }

  let cfg;
  try {
    cfg = loadConfig({ flags, env: process.env });
    if (cfg.version) {
      process.stdout.write(`cpe-sim ${version()}\n`);
      return 0;
    }
    checkProfile(cfg);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const fds = checkDescriptors(cfg);
  if (typeof fds === 'string') {
    process.stderr.write(`${fds}\n`);
    return 2;
  }
  const log = createLogger(cfg.logLevel, cfg.logFormat);
  // SIGINT/SIGTERM are caught before anything starts: one during the start-up stops the
  // fleet as soon as it is up (threads, listeners and state dir closed as on any stop).
  let interrupted: NodeJS.Signals | undefined;
  let wake: () => void = () => undefined;
  const signals = catchSignals('exiting at once', (signal, starting) => {
    interrupted = signal;
    if (starting) log.warn({ signal }, `${signal} during start-up: stopping the fleet as soon as it is up (again to exit at once)`);
    else log.info({ signal }, `${signal}: stopping the fleet (again to exit at once)`);
    wake();
  });
  logDescriptors(log, fds);
  log.info({ cpes: cfg.cpes, shards: cfg.shards, profile: cfg.profile, seed: cfg.seed }, 'starting fleet');
  const started = Date.now();
  let fleet;
  try {
    fleet = await startFleet(cfg, log);
  } catch (e) {
    if (e instanceof StateDirError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    // A listener that could not open names its key and flag: said plainly, whatever the log level.
    if ((e as Error).message.startsWith('config: ')) {
      process.stderr.write(`${(e as Error).message}\n`);
      return 1;
    }
    log.error({ err: (e as Error).message }, 'fleet failed to start');
    return 1;
  }
  signals.up();
  log.info({ acs: fleet.acsUrl || 'none (USP only)', usp: fleet.uspBrokerUrl ?? 'off', shards: fleet.coordinator.shardCount, paramsDeclared: fleet.coordinator.paramCount }, 'fleet started');
  if (!interrupted) await describeFleet(cfg, fleet, log);
  // Daemon mode: something long-lived (the metrics/admin listener, the embedded mock ACS,
  // an MQTT/STOMP/WebSocket connection or listener of USP agents, a --duration) keeps the
  // fleet running until SIGINT/SIGTERM or the duration. Otherwise the run is a bootstrap:
  // once every CPE has powered on and finished its first session, print a summary and
  // exit, non-zero when CPEs failed.
  const daemon = cfg.metricsBindAddr !== undefined || cfg.mockAcs !== undefined || uspEnabled(cfg) || cfg.duration > 0;
  // One tick over the fleet's totals: the progress output, and until the fleet is first
  // ready (a daemon says so once) or the bootstrap run is over, the check for it.
  // The live line (log-update and its ANSI helpers) is loaded only on a terminal.
  const live: LiveLine | undefined = liveLineWanted(cfg, log) ? new (await import('./live-line.js')).LiveLine() : undefined;
  let settled = false;
  const rate = new SessionRate();
  const ticker = new StatsTicker({
    t0: started,
    stats: () => fleet.coordinator.stats(),
    fast: () => live !== undefined || !settled,
    onTick: (s, second, dt) => {
      const perSecond = rate.next(s, dt);
      if (live) live.update(statusLine(s, { seconds: second, rate: perSecond }));
      else if (second % PROGRESS_SECONDS === 0) {
        const failures = Object.keys(s.failReasons).length > 0 ? { failReasons: s.failReasons } : {};
        log.info({ ...s.states, bootstraps: s.bootstraps, sessionsOk: s.sessionsOk, sessionsFailed: s.sessionsFailed, active: s.activeSessions, queued: s.queuedSessions, ...failures, ...(s.uspConnections ? { mqtt: s.uspConnections } : {}), ...(s.xmppConnections ? { xmpp: s.xmppConnections } : {}) }, 'progress');
      }
      if (settled) return;
      if (daemon) {
        if (s.states.ready === cfg.cpes) {
          settled = true;
          const seconds = Math.round((Date.now() - started) / 100) / 10;
          log.info({ cpes: cfg.cpes, seconds }, `all ${cfg.cpes} ready in ${seconds} s`);
        }
        return;
      }
      // A bootstrap run ends when every CPE has answered (ready or failed).
      if (s.states.new === 0 && s.states.bootstrapping === 0 && s.states.ready + s.states.failed === cfg.cpes) {
        settled = true;
        wake();
      }
    },
    onError: (e, second) => {
      if (second % PROGRESS_SECONDS === 0) log.warn({ err: e.message }, 'progress unavailable');
    },
  });
  await new Promise<void>((resolve) => {
    if (interrupted) return resolve();
    wake = resolve;
    if (cfg.duration > 0) setTimeout(resolve, cfg.duration * 1000).unref();
    ticker.start();
  });
  // What ended the run is settled here: a signal during the stop below only hurries it, and
  // does not turn a run that ended by itself (and is judged) into an interrupted one.
  const endedBy = interrupted;
  ticker.stop();
  live?.stop();
  const stats = await fleet.stop();
  // A run that ends by itself (a bootstrap run, or --duration reached) is judged: a bootstrap
  // run fails when a CPE did not bootstrap, a --duration run when no CWMP session succeeded.
  const timed = daemon && cfg.duration > 0 && endedBy === undefined;
  const reasons = Object.entries(stats.failReasons).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([r, n]) => `${r}: ${n}`).join(', ');
  let verdict: string | undefined;
  if (!daemon && endedBy === undefined && stats.states.failed > 0) verdict = `${stats.states.failed} of ${cfg.cpes} CPEs did not bootstrap (reason ${reasons || 'none recorded'})`;
  if (timed && stats.sessionsOk === 0 && stats.sessionsFailed > 0) verdict = `every CWMP session failed (reason ${reasons})`;
  if (timed && fleet.acsUrl === '' && stats.states.ready === 0 && stats.states.failed > 0) {
    const conns = Object.entries(stats.uspConnections ?? {}).filter(([, n]) => n > 0).map(([st, n]) => `${st}: ${n}`).join(', ');
    verdict = `no USP agent was connected at the end (${stats.states.failed} of ${cfg.cpes} failed${reasons ? `, reason ${reasons}` : ''}${conns ? `; connections ${conns}` : ''})`;
  }
  const summary = { ...stats.states, bootstraps: stats.bootstraps, sessionsOk: stats.sessionsOk, sessionsFailed: stats.sessionsFailed, failReasons: stats.failReasons, ...(stats.uspConnections ? { mqtt: stats.uspConnections } : {}), seconds: (Date.now() - started) / 1000, ...(endedBy ? { signal: endedBy } : {}), ...(verdict ? { verdict } : {}) };
  if (verdict) log.error(summary, daemon ? `fleet stopped: ${verdict}` : `bootstrap run failed: ${verdict}`);
  else log.info(summary, daemon ? 'fleet stopped' : endedBy ? `bootstrap run stopped (${endedBy})` : 'bootstrap run finished');
  if (!daemon || timed) process.stdout.write(`${JSON.stringify({ summary })}\n`);
  return verdict ? 1 : 0;
}

/** The first CPE's addresses, for the one who points an ACS or a USP controller at the fleet. */
async function describeFleet(cfg: Config, fleet: Fleet, log: Logger): Promise<void> {
  const first = await fleet.coordinator.inspect(cfg.fleetOffset).catch(() => null);
  if (first && uspEnabled(cfg)) {
    const d = await fleet.coordinator.detail(cfg.fleetOffset).catch(() => null);
    if (cfg.uspMtp === 'mqtt') log.info({ cpe: first.id, endpointId: d?.usp?.endpointId, controller: cfg.uspControllerId, controllerTopic: cfg.uspControllerTopic, mqtt: cfg.uspMqttVersion }, 'USP agents: one MQTT connection each; requests to each agent\'s own topic');
    else if (cfg.uspMtp === 'stomp') log.info({ cpe: first.id, endpointId: d?.usp?.endpointId, controller: cfg.uspControllerId, controllerDestination: cfg.uspControllerTopic }, 'USP agents: one STOMP connection each; requests to each agent\'s own destination');
    else if (cfg.uspWsListen) log.info({ cpe: first.id, endpointId: d?.usp?.endpointId, controller: cfg.uspControllerId, url: `ws://${cfg.uspWsListen.host}:${cfg.uspWsListen.port}/usp/${d?.usp?.endpointId ?? '{endpointId}'}` }, 'USP agents: WebSocket servers, one listening port per shard (port + shard number); the controller connects to /usp/{endpointId}');
    else log.info({ cpe: first.id, endpointId: d?.usp?.endpointId, controller: cfg.uspControllerId, url: cfg.uspControllerUrl }, 'USP agents: one WebSocket connection each to the controller');
  }
  if (first && fleet.acsUrl !== '') {
    log.info(
      { cpe: first.id, serial: first.serial, crUrl: first.crUrl, crUsername: first.crUsername, crPassword: cfg.crPassword ? 'as --cr-password' : 'hidden: set --cr-password, or set ConnectionRequestPassword from the ACS' },
      'connection requests: HTTP GET with Digest',
    );
  }
}

/**
 * SIGINT and SIGTERM, caught from before the fleet starts to the end of the run: the first
 * ends the run cleanly (`first`, told whether the fleet is still starting), a second exits at
 * once with 130, saying so on stderr.
 */
function catchSignals(again: string, first: (signal: NodeJS.Signals, starting: boolean) => void): { up(): void } {
  let starting = true;
  let seen = 0;
  const on = (signal: NodeJS.Signals) => {
    if (++seen > 1) {
      process.stderr.write(`cpe-sim: ${signal} again: ${again}\n`);
      process.exit(130);
    }
    first(signal, starting);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    up: () => {
      starting = false;
    },
  };
}

/** The live status line instead of the progress log lines: text logs on a terminal, info shown, not --no-progress. */
function liveLineWanted(cfg: Config, log: Logger): boolean {
  return cfg.progress && cfg.logFormat === 'text' && process.stderr.isTTY === true && log.isLevelEnabled('info');
}

/**
 * Fail fast, before any thread starts, on a profile error. The shards refuse a USP fleet
 * on a TR-098 profile too, but only after the listeners and threads are up, and their
 * error reaches the user only through the log (nothing at all under --log-level silent).
 */
function checkProfile(cfg: Config): ProfileSpec {
  if (!existsSync(cfg.profile)) {
    throw new ConfigError(`config: profile (--profile): no folder ${JSON.stringify(cfg.profile)} in ${process.cwd()}, nor a shipped profile of that name; shipped: ${shippedProfiles().join(', ')}`);
  }
  const profile = loadProfile(cfg.profile);
  const template = compileProfile(profile);
  if (uspEnabled(cfg) && template.rootName !== 'Device') {
    throw new ConfigError(`config: uspBroker: USP needs a TR-181 Device:2 profile (root "Device"); profile ${profile.name} has root "${template.rootName}"`);
  }
  return profile;
}

/**
 * The descriptors the fleet needs against the soft limit: the refusal text when it does not
 * fit (unless --force-descriptors), else the budget to log.
 */
function checkDescriptors(cfg: Config): FdBudget | string {
  const b = fdBudget(cfg, readFdLimit());
  return b.fits || cfg.forceDescriptors ? b : fdRefusal(cfg, b);
}

function logDescriptors(log: ReturnType<typeof createLogger>, b: FdBudget): void {
  const about = { need: b.need, softLimit: b.limit.soft === Infinity ? 'unlimited' : (b.limit.soft ?? 'unknown'), limitFrom: b.limit.source, parts: Object.fromEntries(b.parts.map((p) => [p.what, p.fds])) };
  if (b.fits) log.info(about, 'file descriptors: the fleet fits under the soft limit');
  else log.warn(about, 'file descriptors: the fleet needs more than the soft limit (--force-descriptors): what does not fit fails with reason "descriptors"');
}

/** Load the scenario and its options, refusing anything bad before a thread starts (exit 2). */
function prepareScenario(file: string, flags: Record<string, unknown>): { scenario: Scenario; cfg: Config } {
  let text: string;
  const found = resolveScenario(file);
  // A relative name found nowhere may be a shipped scenario misspelt; an absolute path is read as given.
  if (found === undefined && !isAbsolute(file)) {
    throw new ConfigError(`scenario ${file}: no such file in ${process.cwd()}, nor a shipped scenario of that name; shipped: ${shippedScenarios().join(', ')}`);
  }
  file = found ?? file;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`scenario ${file}: cannot read it: ${(e as Error).message}`);
  }
  const scenario = parseScenario(text, file);
  // A scenario's own mock ACS is its default target: an ACS named on the command line (or
  // in the environment) replaces it rather than running beside it.
  const options = { ...scenario.options };
  const acsGiven = flags['acsUrl'] !== undefined || process.env[toEnv('acsUrl')] !== undefined;
  const mockGiven = flags['mockAcs'] !== undefined || process.env[toEnv('mockAcs')] !== undefined;
  if (acsGiven && !mockGiven) for (const k of Object.keys(options)) if (k.startsWith('mockAcs')) delete options[k];
  const cfg = loadConfig({ flags, env: process.env, scenario: { file, options } });
  const profile = checkProfile(cfg);
  const fleet = { lo: cfg.fleetOffset, hi: cfg.fleetOffset + cfg.cpes };
  const check = (target: Target, path: string) => {
    const outside = outsideFleet(target, fleet);
    if (outside) throw new ConfigError(`scenario ${file}: ${path}.target: ${outside} (--cpes ${cfg.cpes}, --fleet-offset ${cfg.fleetOffset})`);
    // The fleet runs one profile: a target naming another would reach nothing.
    const folder = basename(resolve(cfg.profile));
    if (target.profile !== undefined && target.profile !== profile.name && target.profile !== folder) {
      throw new ConfigError(`scenario ${file}: ${path}.target.profile: "${target.profile}" is not the fleet's profile; expected "${profile.name}" (or its folder "${folder}")`);
    }
  };
  scenario.stages.forEach((st, i) => {
    const a = st.action;
    if (a.kind === 'event') check(a.event.target, `stages[${i}].${a.event.kind}`);
    if (a.kind === 'breakpoint') {
      const b = a.breakpoint;
      check(b.target, `stages[${i}].breakpoint`);
      // N CPEs at the shortest interval (1 s) make N sessions a second at most.
      const n = expectedSize(b.target, fleet);
      if (b.by === 'interval' && b.toRate > n) {
        throw new ConfigError(`scenario ${file}: stages[${i}].breakpoint.to: ${b.toRate}/s is more than the target's ${Math.floor(n)} CPEs can make (one session a second each at the shortest interval); expected at most ${Math.floor(n)}/s, or a larger target`);
      }
    }
    st.events.forEach((te, j) => check(te.event.target, `stages[${i}].events[${j}].${te.event.kind}`));
  });
  return { scenario, cfg };
}

/** `cpe-sim run SCENARIO.yaml`: the fleet, the stages, the thresholds, the report; the exit code says how it went. */
async function runScenario(file: string, flags: Record<string, unknown>, reportDir: string | undefined): Promise<number> {
  let scenario: Scenario;
  let cfg: Config;
  let fds: FdBudget | string;
  try {
    ({ scenario, cfg } = prepareScenario(file, flags));
    fds = checkDescriptors(cfg);
    if (typeof fds === 'string') throw new ConfigError(fds);
    if (reportDir !== undefined) {
      // Found unwritable now, not after an hour of load.
      try {
        mkdirSync(reportDir, { recursive: true });
        accessSync(reportDir, constants.W_OK);
      } catch (e) {
        throw new ConfigError(`config: --report: cannot write into ${JSON.stringify(reportDir)}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const log = createLogger(cfg.logLevel, cfg.logFormat);
  // SIGINT/SIGTERM are caught before anything starts: one during the start-up ends the run
  // as soon as the fleet is up, as one at its first moment would.
  let interrupted: NodeJS.Signals | undefined;
  let runner: ScenarioRunner | undefined;
  const signals = catchSignals('exiting without a report', (signal, starting) => {
    interrupted = signal;
    if (starting) log.warn({ signal }, `${signal} during start-up: ending the run as soon as the fleet is up (again to exit without a report)`);
    else log.warn({ signal }, 'ending the run early (again to exit without a report)');
    runner?.stop(`interrupted (${signal})`);
  });
  logDescriptors(log, fds);
  log.info({ scenario: scenario.name, file, stages: scenario.stages.length, thresholds: scenario.thresholds.length, cpes: cfg.cpes }, 'starting scenario');
  let fleet;
  try {
    fleet = await startFleet(cfg, log, { holdPower: true, sample: true });
  } catch (e) {
    if (e instanceof StateDirError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    log.error({ err: (e as Error).message }, 'fleet failed to start');
    process.stderr.write(`cpe-sim: the fleet failed to start: ${(e as Error).message}\n`);
    return 1;
  }
  signals.up();
  const coordinator = fleet.coordinator;
  runner = new ScenarioRunner(scenario, {
    fleet: coordinator,
    sampler: fleet.sampler!,
    range: coordinator.range,
    about: { cpes: cfg.cpes, shards: coordinator.shardCount, acsUrl: fleet.acsUrl, usp: fleet.uspBrokerUrl, seed: cfg.seed },
    log: (level, msg, extra) => log[level](extra ?? {}, msg),
  });
  if (interrupted) runner.stop(`interrupted (${interrupted}) during start-up`);
  const cap = cfg.duration > 0 ? setTimeout(() => runner?.stop(`--duration ${cfg.duration}s reached`), cfg.duration * 1000) : undefined;
  // The live line (log-update and its ANSI helpers) is loaded only on a terminal.
  const live: LiveLine | undefined = liveLineWanted(cfg, log) ? new (await import('./live-line.js')).LiveLine() : undefined;
  const rate = new SessionRate();
  const ticker = new StatsTicker({
    stats: () => coordinator.stats(),
    fast: () => live !== undefined,
    onTick: (s, second, dt) => {
      const perSecond = rate.next(s, dt);
      if (live) live.update(statusLine(s, { seconds: second, rate: perSecond, stage: fleet.sampler?.stage }));
      else if (second % PROGRESS_SECONDS === 0) log.info({ stage: fleet.sampler?.stage, ...s.states, sessionsOk: s.sessionsOk, sessionsFailed: s.sessionsFailed, active: s.activeSessions, queued: s.queuedSessions }, 'progress');
    },
    onError: () => undefined,
  });
  ticker.start();
  const summary = await runner.run();
  ticker.stop();
  live?.stop();
  if (cap) clearTimeout(cap);
  // Sessions in flight at the end finish (or are cut) during the stop: counted apart.
  const before = fleet.sampler!.totals();
  const inFlight = fleet.sampler!.last?.active ?? 0;
  const final = await fleet.stop();
  const drained = totalsSince(before, { ok: final.sessionsOk, failed: final.sessionsFailed, byReason: final.failReasons });
  if (inFlight > 0 || drained.ok + drained.failed > 0) summary.stop = { inFlight, ...drained };
  process.stdout.write(formatEnd(summary));
  if (reportDir) {
    try {
      const { writeReport } = await import('../report/html.js');
      await writeReport(reportDir, summary);
      process.stdout.write(`report: ${reportDir}/report.html, ${reportDir}/summary.json\n`);
    } catch (e) {
      process.stderr.write(`cpe-sim: cannot write the report into ${reportDir}: ${(e as Error).message}\n`);
      return summary.exitCode || 1;
    }
  }
  return summary.exitCode;
}

main(hideBin(process.argv)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`cpe-sim: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
