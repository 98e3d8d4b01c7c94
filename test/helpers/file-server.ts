// A real HTTP file server for Download/Upload tests: files, Basic and Digest auth,
// 404, a stalled body, a short body, and recorded PUTs.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { checkNonce, digestChallenge, makeNonce, parseAuthorization, verifyBasic, verifyDigest } from '../../src/http/digest.js';

export interface FileServer {
  url: string;
  gets: string[];
  /** GETs whose connection was reset while the file was being sent (a client's link cut mid-body). */
  cut: string[];
  puts: Array<{ path: string; body: string; authorization: string | undefined }>;
  /**
   * `endless*` files: a chunked body with no Content-Length that goes on (up to
   * ENDLESS_LIMIT bytes) while the client reads: bytes written per GET, and whether the
   * client closed the connection before the end.
   */
  streamed: Array<{ path: string; bytes: number; closedEarly: boolean }>;
  close(): Promise<void>;
}

export const USER = 'fw-user';
export const PASS = 'fw-pass';
const SECRET = 'file-server';
/** Where an `endless*` body ends if the client never stops reading. */
export const ENDLESS_LIMIT = 256 * 1024 * 1024;

export async function startFileServer(files: Record<string, number>, tls?: { key: string; cert: string; ca?: string; requestCert?: boolean }): Promise<FileServer> {
  const gets: string[] = [];
  const cut: string[] = [];
  const puts: FileServer['puts'] = [];
  const stalled: ServerResponse[] = [];
  const streamed: FileServer['streamed'] = [];
  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const auth = parseAuthorization(req.headers.authorization);
    if (path.startsWith('/basic/')) {
      if (!(auth?.scheme === 'basic' && verifyBasic(auth.token, USER, PASS))) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="files"' }).end();
        return;
      }
    } else if (path.startsWith('/digest/')) {
      const ok = auth?.scheme === 'digest' && checkNonce(SECRET, 'f', auth.params['nonce'] ?? '', Date.now(), 60_000) === 'ok' && auth.params['username'] === USER && verifyDigest(auth.params, req.method ?? 'GET', PASS, body);
      if (!ok) {
        res.writeHead(401, { 'www-authenticate': digestChallenge('files', makeNonce(SECRET, 'f', Date.now())) }).end();
        return;
      }
    }
    if (req.method === 'PUT') {
      puts.push({ path, body, authorization: req.headers.authorization });
      res.writeHead(201).end();
      return;
    }
    gets.push(path);
    const name = path.split('/').pop() ?? '';
    if (name.startsWith('stall')) {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(100));
      stalled.push(res);
      return;
    }
    if (name.startsWith('endless')) {
      const rec = { path, bytes: 0, closedEarly: false };
      streamed.push(rec);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(16 * 1024, 7);
      res.once('close', () => {
        if (!res.writableFinished) rec.closedEarly = true;
      });
      // Write while the socket takes it; wait for drain otherwise, until the limit or a close.
      const pump = () => {
        while (!res.destroyed && rec.bytes < ENDLESS_LIMIT) {
          rec.bytes += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!res.destroyed) res.end();
      };
      pump();
      return;
    }
    if (name.startsWith('short')) {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(500), () => res.destroy());
      return;
    }
    const size = files[name];
    if (size === undefined) {
      res.writeHead(404).end();
      return;
    }
    // A client that cuts its link mid-body leaves the server's writes to a reset connection.
    const sent = res.socket;
    const onClose = (hadError: boolean) => {
      if (hadError) cut.push(path);
    };
    sent?.once('close', onClose);
    res.writeHead(200, { 'content-length': String(size), 'content-type': 'application/octet-stream' }).end(Buffer.alloc(size, 7));
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handle(req, res, body));
  };
  const server: Server = tls ? createTlsServer(tls, onRequest) : createServer(onRequest);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    gets,
    cut,
    puts,
    streamed,
    async close() {
      for (const s of stalled) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
