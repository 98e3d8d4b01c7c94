// An embedded MQTT 3.1.1 broker (aedes on a node:net server) for the demo and the tests,
// so a USP fleet can run without an external broker. aedes refuses MQTT 5 CONNECTs
// ("Unacceptable protocol version"): MQTT 5 runs against a real broker (mosquitto).
import { createServer, type Socket } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBrokerOptions {
  host: string;
  /** 0 picks an ephemeral port (the real one is returned). */
  port: number;
  /** A connection could not be accepted (EMFILE, ENFILE...): the listener carries on. */
  onAcceptError?: (err: NodeJS.ErrnoException) => void;
}

export interface EmbeddedBroker {
  /** mqtt://host:port */
  url: string;
  port: number;
  /** Close the listener, destroy client sockets and close aedes. */
  close(): Promise<void>;
}

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        // Once listening, an 'error' is a failed accept (out of descriptors): not fatal.
        server.on('error', (err: NodeJS.ErrnoException) => opts.onAcceptError?.(err));
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw err;
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  const hostInUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://${hostInUrl}:${port}`,
    port,
    close() {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await serverClosed;
      })();
      return closing;
    },
  };
}
