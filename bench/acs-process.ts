// The bench's minimal ACS in a process of its own, so the simulator's CPU (and a bare HTTP
// client's, measured beside it) is all that the bench process spends. Prints "URL <url>"
// once listening; answers each "stats" line on stdin with one JSON line (Informs,
// bootstraps, periodic and retried Informs, and the first bootstrap and periodic sessions' request bodies); exits when
// its stdin closes or on SIGTERM.
import { createInterface } from 'node:readline';
import { MinimalAcs } from './minimal-acs.js';

const acs = new MinimalAcs(true);
const url = await acs.listen();
process.stdout.write(`URL ${url}\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'stats') process.stdout.write(`${JSON.stringify({ informs: acs.informs, bootstraps: acs.bootstraps, periodics: acs.periodics, retried: acs.retried, samples: acs.samples })}\n`);
});
const stop = () => void acs.close().finally(() => process.exit(0));
process.stdin.on('end', stop);
process.on('SIGTERM', stop);
