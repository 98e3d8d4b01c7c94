#!/usr/bin/env node
// Run the embedded mock ACS on its own (npm run mock-acs -- --bind 127.0.0.1:7647 --auth digest ...),
// to point one or more cpe-sim processes at it and watch sessions arrive. Its counts are
// served on GET /stats and printed as one JSON line on SIGINT/SIGTERM (docs/mock-acs.md).
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { parseValue } from '../src/config/load.js';
import { MockAcs, type Latency } from '../src/mock-acs/mock-acs.js';

const argv = await yargs(hideBin(process.argv))
  .scriptName('mock-acs')
  .option('bind', { type: 'string', default: '127.0.0.1:7647', describe: 'host:port to listen on (port 0: any free port, printed)' })
  .option('auth', { choices: ['none', 'basic', 'digest'] as const, default: 'none' as const, describe: 'authentication the ACS demands' })
  .option('username', { type: 'string', default: 'cpe', describe: 'username for --auth basic|digest' })
  .option('password', { type: 'string', default: 'cpe', describe: 'password for --auth basic|digest' })
  .option('hold-requests', { type: 'boolean', default: false, describe: 'send HoldRequests=true with every InformResponse' })
  .option('get-on-inform', { type: 'string', array: true, describe: 'parameter paths to GetParameterValues in every session' })
  .option('max-sessions', { type: 'string', default: '0', describe: 'sessions open at once; an Inform past them gets 503 and the connection closed (0: no limit)' })
  .option('retry-after', { type: 'string', default: '60', describe: 'Retry-After seconds on a 503 (0: send none)' })
  .option('latency', { type: 'string', default: '0', describe: 'delay before every answer: "<ms>" or "<ms>±<jitter>" (or "<ms>+-<jitter>")' })
  .option('quiet', { type: 'boolean', default: false, describe: 'no counts line every 5 s' })
  .strict()
  .help()
  .parseAsync();

function fail(msg: string): never {
  process.stderr.write(`mock-acs: ${msg}\n`);
  process.exit(2);
}

const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(argv.bind);
if (!m) fail(`--bind: expected host:port, got ${JSON.stringify(argv.bind)}`);
const int = (flag: string, raw: string, max: number): number => {
  const p = parseValue({ t: 'int', min: 0, max }, raw);
  if (!p.ok) fail(`--${flag}: expected an integer from 0 to ${max}, got ${JSON.stringify(raw)}`);
  return p.value as number;
};
const maxSessions = int('max-sessions', argv['max-sessions'], 10_000_000);
const retryAfter = int('retry-after', argv['retry-after'], 86400);
const lat = parseValue({ t: 'latency' }, argv.latency);
if (!lat.ok) fail(`--latency: expected milliseconds "<ms>" or "<ms>±<jitter>" (or "<ms>+-<jitter>"), e.g. 200 or 200±50, got ${JSON.stringify(argv.latency)}`);

const names = argv['get-on-inform'];
const acs = new MockAcs({
  record: false,
  auth: { mode: argv.auth, username: argv.username, password: argv.password },
  holdRequests: argv['hold-requests'],
  script: names && names.length > 0 ? () => [{ method: 'GetParameterValues', names }] : undefined,
  maxSessions,
  retryAfterSeconds: retryAfter,
  latency: lat.value as Latency,
});
const url = await acs.listen(m[1] ?? m[2]!, Number(m[3]));
process.stdout.write(`mock ACS listening on ${url} (auth ${argv.auth}, max sessions ${maxSessions || 'unlimited'}); counts on GET ${url}stats\n`);
const report = argv.quiet
  ? undefined
  : setInterval(() => {
      const c = acs.counts();
      process.stdout.write(`informs=${c.informs} started=${c.sessionsStarted} completed=${c.sessionsCompleted} open=${c.sessionsOpen} refused503=${c.refused503} resets=${c.resets}\n`);
    }, 5000);
const stop = () => {
  clearInterval(report);
  process.stdout.write(`${JSON.stringify({ mockAcsCounts: acs.counts() })}\n`);
  void acs.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
