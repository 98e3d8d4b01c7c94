#!/usr/bin/env node
// Run the embedded mock ACS on its own (npm run mock-acs -- --bind 127.0.0.1:7547 --auth digest ...),
// to point one or more cpe-sim processes at it and watch sessions arrive.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { MockAcs } from '../src/mock-acs/mock-acs.js';

const argv = await yargs(hideBin(process.argv))
  .scriptName('mock-acs')
  .option('bind', { type: 'string', default: '127.0.0.1:7547', describe: 'host:port to listen on' })
  .option('auth', { choices: ['none', 'basic', 'digest'] as const, default: 'none' as const, describe: 'authentication the ACS demands' })
  .option('username', { type: 'string', default: 'cpe', describe: 'username for --auth basic|digest' })
  .option('password', { type: 'string', default: 'cpe', describe: 'password for --auth basic|digest' })
  .option('hold-requests', { type: 'boolean', default: false, describe: 'send HoldRequests=true with every InformResponse' })
  .option('get-on-inform', { type: 'string', array: true, describe: 'parameter paths to GetParameterValues in every session' })
  .strict()
  .help()
  .parseAsync();

const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(argv.bind);
if (!m) {
  process.stderr.write(`mock-acs: --bind: expected host:port, got ${JSON.stringify(argv.bind)}\n`);
  process.exit(2);
}
const names = argv['get-on-inform'];
const acs = new MockAcs({
  record: false,
  auth: { mode: argv.auth, username: argv.username, password: argv.password },
  holdRequests: argv['hold-requests'],
  script: names && names.length > 0 ? () => [{ method: 'GetParameterValues', names }] : undefined,
});
const url = await acs.listen(m[1] ?? m[2]!, Number(m[3]));
process.stdout.write(`mock ACS listening on ${url} (auth ${argv.auth})\n`);
const report = setInterval(() => process.stdout.write(`informs=${acs.informCount} sessions_ended=${acs.sessionsEnded}\n`), 5000);
const stop = () => {
  clearInterval(report);
  void acs.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
