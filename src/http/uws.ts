// uWebSockets.js, refused unless the native binary loaded: its package silently falls
// back to a slow pure-JS server when the binary does not match this Node.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import uWS from 'uWebSockets.js';

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

/** A listening uWS app: its port (0 picks one) and a way to stop listening. */
export interface UwsListener {
  port: number;
  close(): void;
}

/** Listen, or fail with a message naming what could not listen where. */
export function listenUws(app: uWS.TemplatedApp, host: string, port: number, what: string): Promise<UwsListener> {
  const u = nativeUws();
  return new Promise((resolve, reject) => {
    app.listen(host, port, (token) => {
      if (!token) return reject(new Error(`${what}: cannot listen on ${host}:${port}`));
      let open = true;
      resolve({
        port: u.us_socket_local_port(token as unknown as uWS.us_socket),
        close: () => {
          if (open) u.us_listen_socket_close(token);
          open = false;
        },
      });
    });
  });
}
