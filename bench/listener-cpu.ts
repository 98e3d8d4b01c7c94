// Server CPU per new connection on the connection-request listener, server in a process
// of its own: N connection-request-shaped requests (a GET /cr/<id>/<token> with a Digest
// Authorization, answered 401 at once by the router), C at a time, each on a new
// connection the client closes after the answer.
//   node dist/bench/listener-cpu.js [gate|uws] [N=20000] [C=20]
// gate: the listener as cpe-sim runs it (protocol gate + uWS on its Unix socket);
// uws: a bare uWS app on the TCP port with the same handler, for comparison.
//   BenchmarkListenerCpu_<mode>-<N>  <N>  <server_us_per_conn>  <wall_ms>
import { fork } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CrListener } from '../src/http/cr-listener.js';
import { nativeUws } from '../src/http/uws.js';

const [mode = 'gate', nArg = '20000', cArg = '20'] = process.argv.slice(2);

const challenge = { status: 401, headers: { 'www-authenticate': 'Digest realm="cpe-sim", qop="auth", nonce="0123456789abcdef", algorithm=MD5' } };

async function serve(kind: string): Promise<void> {
  let port: number;
  if (kind === 'uws') {
    const u = nativeUws();
    const app = u.App();
    app.any('/*', (res) => {
      res.onAborted(() => undefined);
      void Promise.resolve(challenge).then((r) =>
        res.cork(() => {
          res.writeStatus('401 Unauthorized');
          for (const [k, v] of Object.entries(r.headers)) res.writeHeader(k, v);
          res.end();
        }),
      );
    });
    port = await new Promise<number>((resolve, reject) => app.listen('127.0.0.1', 0, (t) => (t ? resolve(u.us_socket_local_port(t as never)) : reject(new Error('listen')))));
  } else {
    port = await new CrListener(async () => challenge).listen('127.0.0.1', 0);
  }
  process.on('message', (m) => {
    if (m === 'cpu') process.send!(process.cpuUsage());
    if (m === 'exit') process.exit(0);
  });
  process.send!({ port });
}

function one(port: number, request: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true);
    let got = '';
    s.on('connect', () => s.write(request));
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        if (!got.startsWith('HTTP/1.1 401 ')) reject(new Error(`unexpected answer ${JSON.stringify(got.slice(0, 80))}`));
        s.destroy();
        resolve();
      }
    });
    s.on('error', reject);
  });
}

async function drive(): Promise<void> {
  const n = Number(nArg);
  const c = Number(cArg);
  const child = fork(fileURLToPath(import.meta.url), [`serve-${mode}`], { stdio: 'inherit', execArgv: process.env['LISTENER_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['LISTENER_CPU_PROF']}`] : [] });
  const ask = <T>(m: string) => new Promise<T>((resolve) => child.once('message', (v) => resolve(v as T)).send(m));
  const { port } = await new Promise<{ port: number }>((resolve) => child.once('message', (v) => resolve(v as { port: number })));
  const request = (i: number) => `GET /cr/${i % 1000}/0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Digest username="u", realm="cpe-sim", nonce="0123456789abcdef", uri="/cr/${i % 1000}/0123456789abcdef0123456789abcdef", response="0123456789abcdef0123456789abcdef", qop=auth, nc=00000001, cnonce="abcdef", algorithm=MD5\r\n\r\n`;
  // A warm-up, then the measured run.
  for (let i = 0; i < 500; i++) await one(port, request(i));
  const before = await ask<NodeJS.CpuUsage>('cpu');
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (next < n) await one(port, request(next++));
    }),
  );
  const wall = Date.now() - t0;
  const after = await ask<NodeJS.CpuUsage>('cpu');
  child.send('exit');
  const us = after.user - before.user + (after.system - before.system);
  process.stdout.write(`BenchmarkListenerCpu_${mode}-${n}  ${n}  ${(us / n).toFixed(1)}  ${wall}\n`);
}

const role = process.argv[2] ?? '';
if (role.startsWith('serve-')) void serve(role.slice('serve-'.length));
else await drive();
