// What the helpers that start a real peer (mosquitto, prosody, coturn, RabbitMQ) share:
// finding its binary (failing with the Debian package to install), a free loopback port,
// and whether a port accepts connections yet.
import { accessSync, constants } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** The first executable `name` in `systemDir` or on PATH; otherwise an error naming the package. */
export function findBinary(name: string, debianPackage: string, systemDir: string): string {
  const candidates = [join(systemDir, name), ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name))];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error(`${name} not found (looked in ${systemDir} and PATH): install the Debian package "${debianPackage}" (apt-get install ${debianPackage})`);
}

/** A TCP port free on `host` just now (bound, then released). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether `host:port` accepts a TCP connection now. */
export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
