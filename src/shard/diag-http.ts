// The real half of TR-143 (docs/diagnostics.md "Real results"): DownloadDiagnostics and
// UploadDiagnostics move bytes over HTTP or HTTPS to the URL an ACS or controller gave, on
// a connection of their own, and report when each step happened and how many bytes went
// each way. Times are the shard clock at the start plus the real elapsed time since,
// to the microsecond; byte counts are the socket's.
import type { ClientRequest, IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { isoMicros } from '../datamodel/datetime.js';
import type { DiagOutcome } from './diag-tests.js';

export interface HttpTestSpec {
  method: 'GET' | 'PUT';
  url: string;
  /** PUT: the test file's length (TestFileLength). */
  bytes?: number;
  /** The most a download may bring or an upload send (settings.maxDownloadBytes). */
  maxBytes: number;
  /** The whole test's limit. */
  timeoutMs: number;
  /** Extra CA (--acs-ca-file) and client certificate (--acs-cert/--acs-key) for https servers, as for file transfers. */
  tls?: { ca?: string; cert?: string; key?: string } | undefined;
  resolve(host: string): Promise<string | undefined>;
  /** The shard clock, epoch ms. */
  now(): number;
  /** Aborted: the test was canceled or the CPE lost power; the promise still settles. */
  signal?: AbortSignal;
}

export interface HttpTestResult {
  outcome: DiagOutcome;
  /** Why, for logs. */
  detail: string;
  /** TR-181 output names: ROMTime, BOMTime, EOMTime, TestBytesReceived/Sent, TotalBytes*, TCPOpen*Time. */
  outputs: Record<string, string>;
  /** Body bytes moved. */
  testBytes: number;
}

const CHUNK = 64 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

export async function runHttpTest(spec: HttpTestSpec): Promise<HttpTestResult> {
  const isGet = spec.method === 'GET';
  const t0 = performance.now();
  const base = spec.now();
  const at = (hr: number | undefined): string => (hr === undefined ? '0001-01-01T00:00:00Z' : isoMicros(base + (hr - t0)));
  const empty = (outcome: DiagOutcome, detail: string): HttpTestResult => ({ outcome, detail, outputs: {}, testBytes: 0 });
  let u: URL;
  try {
    u = new URL(spec.url);
  } catch {
    return empty('connect', `not a URL: ${JSON.stringify(spec.url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return empty('connect', `unsupported scheme ${u.protocol}`);
  const length = isGet ? 0 : spec.bytes ?? 0;
  if (!isGet && length > spec.maxBytes) return empty('tooBig', `TestFileLength ${length} passes the CPE's limit of ${spec.maxBytes} bytes`);
  const address = await spec.resolve(u.hostname);
  if (address === undefined) return empty('resolve', `${u.hostname} does not resolve`);
  // node:http(s) come in with a CPE's first HTTP test, not in every shard (~0.6 MB of heap).
  const { request: httpRequest } = await import('node:http');
  const { request: httpsRequest } = await import('node:https');
  if (spec.signal?.aborted) return empty('internal', 'canceled');

  const times: { openReq?: number; openResp?: number; rom?: number; bom?: number; eom?: number } = {};
  let testBytes = 0;
  let socket: Socket | undefined;
  let req: ClientRequest | undefined;
  return new Promise<HttpTestResult>((resolve) => {
    let done = false;
    const finish = (outcome: DiagOutcome, detail: string): void => {
      if (done) return;
      done = true;
      clearTimeout(limit);
      spec.signal?.removeEventListener('abort', onAbort);
      const outputs: Record<string, string> = {
        TCPOpenRequestTime: at(times.openReq),
        TCPOpenResponseTime: at(times.openResp),
        ROMTime: at(times.rom),
        BOMTime: at(times.bom),
        EOMTime: at(times.eom),
        TotalBytesReceived: String(socket?.bytesRead ?? 0),
        TotalBytesSent: String(socket?.bytesWritten ?? 0),
        ...(isGet ? { TestBytesReceived: String(testBytes) } : { TestBytesSent: String(testBytes) }),
      };
      req?.destroy();
      resolve({ outcome, detail, outputs: outcome === 'complete' ? outputs : {}, testBytes });
    };
    const limit = setTimeout(() => {
      if (times.openResp === undefined) finish('connect', `no connection within ${spec.timeoutMs} ms`);
      else if (isGet ? times.bom === undefined : times.eom === undefined) finish('noResponse', `no response within ${spec.timeoutMs} ms`);
      else finish('timeout', `not done within ${spec.timeoutMs} ms`);
    }, spec.timeoutMs);
    const onAbort = (): void => finish('internal', 'canceled');
    spec.signal?.addEventListener('abort', onAbort);
    const https = u.protocol === 'https:';
    const opts = {
      host: address,
      port: u.port || (https ? 443 : 80),
      path: u.pathname + u.search,
      method: spec.method,
      agent: false as const,
      headers: { host: u.host, ...(isGet ? {} : { 'content-type': 'application/octet-stream', 'content-length': String(length) }) },
      ...(https ? { servername: isIP(u.hostname) ? undefined : u.hostname, ...spec.tls } : {}),
    };
    const onResponse = (res: IncomingMessage): void => {
      if (isGet) times.bom = performance.now();
      else times.eom = performance.now();
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        res.resume();
        finish('transfer', `the server answered HTTP ${status}`);
        return;
      }
      if (!isGet) {
        res.resume();
        res.on('end', () => finish('complete', ''));
        res.on('error', (e) => finish('transfer', e.message));
        return;
      }
      const announced = Number(res.headers['content-length']);
      if (Number.isFinite(announced) && announced > spec.maxBytes) {
        finish('tooBig', `Content-Length ${announced} passes the CPE's limit of ${spec.maxBytes} bytes`);
        return;
      }
      res.on('data', (chunk: Buffer) => {
        testBytes += chunk.length;
        if (testBytes > spec.maxBytes) finish('tooBig', `the body passed the CPE's limit of ${spec.maxBytes} bytes`);
      });
      res.on('end', () => {
        times.eom = performance.now();
        if (Number.isFinite(announced) && announced !== testBytes) finish('transfer', `got ${testBytes} of ${announced} bytes`);
        else finish('complete', '');
      });
      res.on('error', (e) => finish('transfer', `broke off after ${testBytes} bytes: ${e.message}`));
      res.on('aborted', () => finish('transfer', `broke off after ${testBytes} bytes`));
    };
    req = (https ? httpsRequest : httpRequest)(opts, onResponse);
    req.on('socket', (s: Socket) => {
      socket = s;
      times.openReq = performance.now();
      s.once('connect', () => {
        times.openResp = performance.now();
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (times.openResp === undefined) finish('connect', `${e.code ?? 'error'}: ${e.message}`);
      else if (isGet ? times.bom === undefined : times.eom === undefined) finish(isGet ? 'noResponse' : 'transfer', `${e.code ?? 'error'}: ${e.message}`);
      else finish('transfer', `${e.code ?? 'error'}: ${e.message}`);
    });
    if (isGet) {
      req.once('finish', () => {
        times.rom = performance.now();
      });
      req.end();
      return;
    }
    // Upload: the head goes with the first chunk once connected; the file is zeros, sent in chunks.
    const r = req;
    const ready = (): void => {
      times.rom = performance.now();
      let left = length;
      const pump = (): void => {
        while (left > 0 && !done) {
          const n = Math.min(CHUNK, left);
          if (times.bom === undefined) times.bom = performance.now();
          left -= n;
          testBytes += n;
          if (!r.write(n === CHUNK ? ZEROS : ZEROS.subarray(0, n))) {
            r.once('drain', pump);
            return;
          }
        }
        if (left === 0) r.end();
      };
      pump();
    };
    r.on('socket', (s: Socket) => {
      if (https) s.once('secureConnect', ready);
      else s.once('connect', ready);
    });
  });
}
