// uWebSockets.js, refused unless the native binary loaded: its package silently falls
// back to a slow pure-JS server when the binary does not match this Node. Each app
// listens on a private Unix socket behind a protocol gate (gate.ts) on the public port.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import uWS from 'uWebSockets.js';
import { listenGate, type Gate } from './gate.js';

const require = createRequire(import.meta.url);

export function nativeUws(): typeof uWS {
  const binary = join(
    dirname(require.resolve('uWebSockets.js/package.json')),
    'binaries',
    `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
  );
  let native: { App?: unknown };
  try {
    native = require(binary) as { App?: unknown };
  } catch (e) {
    throw new Error(`uWebSockets.js has no native binary for this Node (${process.version}, ${process.platform}-${process.arch}, ABI ${process.versions.modules}): ${(e as Error).message.split('\n')[0]}. cpe-sim refuses the slow pure-JS fallback; use Node 20 (20.19 or later).`);
  }
  if (native.App !== uWS.App) {
    throw new Error('uWebSockets.js loaded its pure-JS fallback (UWS_USE_FALLBACK set?); cpe-sim refuses it');
  }
  return uWS;
}

export type UwsListenSocket = uWS.us_listen_socket;

/** A listening uWS app behind its protocol gate: the gate's port (0 picks one) and a way to stop both. */
export interface UwsListener {
  port: number;
  close(): void;
}

/**
 * Listen: uWS on a Unix socket in a private directory (mode 0700), the protocol gate
 * (gate.ts) on host:port in front of it; or fail with a message naming what could not
 * listen where.
 */
export async function listenUws(app: uWS.TemplatedApp, host: string, port: number, what: string): Promise<UwsListener> {
  const u = nativeUws();
  const dir = mkdtempSync(join(tmpdir(), 'cpe-sim-uws-'));
  const path = join(dir, 'http.sock');
  const drop = () => {
    process.off('exit', drop);
    rmSync(dir, { recursive: true, force: true });
  };
  // A process that exits without closing its listeners leaves no directory behind (a SIGKILL still does: an empty directory and a socket inode).
  process.on('exit', drop);
  const token = await new Promise<uWS.us_listen_socket | false>((resolve) => app.listen_unix((t) => resolve(t), path));
  if (!token) {
    drop();
    throw new Error(`${what}: cannot listen on the Unix socket ${path}`);
  }
  let gate: Gate;
  try {
    gate = await listenGate(host, port, path, what);
  } catch (e) {
    u.us_listen_socket_close(token);
    drop();
    throw e;
  }
  let open = true;
  return {
    port: gate.port,
    close: () => {
      if (!open) return;
      open = false;
      gate.close();
      u.us_listen_socket_close(token);
      drop();
    },
  };
}
