// The container image's HEALTHCHECK: GET /metrics on the metrics listener and exit 0 when it
// answers 200 with cpe-sim's metrics, 1 otherwise (saying why on stderr). The address is the
// CLI's own setting, CPE_SIM_METRICS_BIND_ADDR (or the first argument); a wildcard bind host
// is reached over loopback. Plain node:http: the slim image has no curl or wget.
import { request } from 'node:http';

const TIMEOUT_MS = 5_000;

function fail(why: string): never {
  process.stderr.write(`healthcheck: ${why}\n`);
  process.exit(1);
}

const addr = process.argv[2] ?? process.env['CPE_SIM_METRICS_BIND_ADDR'];
if (addr === undefined || addr === '') fail('no metrics listener configured: set CPE_SIM_METRICS_BIND_ADDR (host:port) as for cpe-sim --metrics-bind-addr');
const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(addr);
if (!m) fail(`CPE_SIM_METRICS_BIND_ADDR ${JSON.stringify(addr)} is not host:port`);
let host = m[1] ?? m[2]!;
if (host === '0.0.0.0') host = '127.0.0.1';
if (host === '::') host = '::1';
const port = Number(m[3]);

const req = request({ host, port, path: '/metrics', agent: false, timeout: TIMEOUT_MS }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (c: string) => (body += c));
  res.on('end', () => {
    if (res.statusCode !== 200) fail(`GET http://${addr}/metrics answered ${res.statusCode}`);
    if (!body.includes('cpe_sim_')) fail(`GET http://${addr}/metrics answered 200 without cpe_sim_ metrics`);
    process.exit(0);
  });
});
req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
req.on('error', (e) => fail(`GET http://${addr}/metrics: ${e.message}`));
req.end();
