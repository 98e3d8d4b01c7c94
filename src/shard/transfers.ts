// File transfers a CPE performs for Download and Upload (TR-069 A.3.2.8, A.4.1.5): real
// HTTP(S) GET or PUT with Basic/Digest, failures mapped to the TransferComplete fault
// codes of TR-069 A.3.3.2 and A.5.1. Only a CPE in the middle of a transfer holds a promise.
import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { basicAuthorization, digestAuthorization, parseChallenges } from '../http/digest.js';
import type { TransferFault } from '../cwmp/types.js';
import type { LinkFaultSpec } from '../scenario/model.js';

export interface TransferSpec {
  method: 'GET' | 'PUT';
  url: string;
  username: string;
  password: string;
  timeoutMs: number;
  /** PUT body. */
  body?: string;
  /** Download: expected size in bytes (0: unknown); a body that passes it stops at once (9017). */
  fileSize?: number;
  /** Download: the device's room for one file (profile settings.maxDownloadBytes); past it the download stops at once (9010). */
  maxBytes?: number;
  /** Carries the CA trusted for https file servers (the same --acs-ca-file as the ACS). */
  dispatcher?: Dispatcher | undefined;
  /** A fleet event's link fault on the CPE's link when the transfer starts (docs/cwmp-behaviour.md "Link faults"). */
  link?: LinkFaultSpec | undefined;
  /** [0, 1) for the link fault's jitter and draws. */
  random?: (() => number) | undefined;
}

export type TransferOutcome = { ok: true; bytes: number } | { ok: false; fault: TransferFault };

const fail = (code: number, message: string): TransferOutcome => ({ ok: false, fault: { code, message } });

/** 9010: the file is bigger than the device's room for it (TR-069 A.5.1 "File transfer failure"). */
function tooBig(what: string, maxBytes: number): TransferOutcome {
  return fail(9010, `${what} passes the CPE's download limit of ${maxBytes} bytes`);
}

/**
 * A download of `bytes` so far (or announced) that passes the cap (9010) or the Download's
 * FileSize (9017: the download cannot complete as the ACS announced it); undefined while within both.
 */
function overrun(bytes: number, fileSize: number | undefined, maxBytes: number | undefined, what: string): TransferOutcome | undefined {
  if (maxBytes !== undefined && bytes > maxBytes) return tooBig(`${what} (${bytes} bytes)`, maxBytes);
  if (fileSize !== undefined && bytes > fileSize) return fail(9017, `${what} passed FileSize: ${bytes} bytes, FileSize said ${fileSize}`);
  return undefined;
}

/** Run one transfer; never throws. `isDownload` picks the download or upload fault codes. */
export async function transfer(spec: TransferSpec): Promise<TransferOutcome> {
  const isDownload = spec.method === 'GET';
  let u: URL;
  try {
    u = new URL(spec.url);
  } catch {
    return fail(isDownload ? 9016 : 9011, `bad URL ${JSON.stringify(spec.url)}`);
  }
  // TR-069 A.4.1.5: 9013 Unsupported protocol for file transfer
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return fail(9013, `unsupported protocol ${u.protocol}`);
  const path = u.pathname + u.search;
  const fileSize = spec.fileSize && spec.fileSize > 0 ? spec.fileSize : undefined;
  const maxBytes = spec.maxBytes;
  // A file announced bigger than the device can hold is not fetched at all.
  if (isDownload && maxBytes !== undefined && fileSize !== undefined && fileSize > maxBytes) return tooBig(`FileSize ${fileSize}`, maxBytes);
  // A fleet event's link fault: a down link cannot reach the file server (9015, as a
  // refused connection); a stalled one never answers (the transfer's timeout runs out);
  // latency comes before the request; a reset cuts the transfer in the middle.
  const link = spec.link;
  const random = spec.random ?? Math.random;
  let reset = false;
  if (link) {
    if (link.down) return fail(9015, 'link down: cannot reach the file server');
    const wait = link.latencyMs + (link.jitterMs > 0 ? random() * link.jitterMs : 0);
    if (wait > 0) await delay(wait);
    if (link.stallProbability > 0 && random() < link.stallProbability) {
      await delay(spec.timeoutMs);
      return fail(isDownload ? 9017 : 9011, `link stalled: no answer from the file server within ${spec.timeoutMs} ms`);
    }
    reset = link.resetProbability > 0 && random() < link.resetProbability;
  }
  // A reset aborts the request mid-body: undici then destroys the connection under it.
  const cutter = reset ? new AbortController() : undefined;
  let authorization: string | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    let res;
    try {
      // undici is loaded by the first transfer, not by every shard (most never transfer a file).
      const { request } = await import('undici');
      res = await request(u, {
        method: spec.method,
        headers: {
          ...(authorization ? { authorization } : {}),
          ...(spec.method === 'PUT' ? { 'content-type': 'application/octet-stream' } : {}),
        },
        body: spec.method === 'PUT' ? spec.body ?? '' : undefined,
        headersTimeout: spec.timeoutMs,
        bodyTimeout: spec.timeoutMs,
        ...(cutter ? { signal: cutter.signal } : {}),
        ...(spec.dispatcher ? { dispatcher: spec.dispatcher } : {}),
      });
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      const msg = `${code || 'error'}: ${(e as Error).message}`;
      // 9015 unable to contact the file server; a server that stops answering midway is 9017
      if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|UND_ERR_CONNECT_TIMEOUT/.test(code)) return fail(9015, msg);
      if (/CERT|SELF_SIGNED|TLS|SSL/i.test(code + msg)) return fail(9012, msg);
      return fail(isDownload ? 9017 : 9011, msg);
    }
    if (res.statusCode === 401 && attempt === 0 && (spec.username || spec.password)) {
      await res.body.dump();
      const ch = parseChallenges(res.headers['www-authenticate']);
      const digest = ch.find((c) => c.scheme === 'digest');
      const creds = { username: spec.username, password: spec.password };
      if (digest) authorization = digestAuthorization({ challenge: digest, nc: 0 }, creds, spec.method, path, spec.body ?? '');
      else if (ch.some((c) => c.scheme === 'basic')) authorization = basicAuthorization(creds.username, creds.password);
      else return fail(9012, 'file server asked for an authentication scheme the CPE does not support');
      continue;
    }
    if (res.statusCode === 401 || res.statusCode === 407) {
      await res.body.dump();
      return fail(9012, `file server refused the credentials (HTTP ${res.statusCode})`);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump();
      // 9016 unable to access the file (missing, forbidden); an upload refused is 9011
      return fail(isDownload ? 9016 : 9011, `file server answered HTTP ${res.statusCode}`);
    }
    if (!isDownload) {
      if (cutter) {
        // The body went up; the link died before the server's answer was read.
        res.body.on('error', () => undefined);
        cutter.abort();
        return fail(9011, 'link reset: connection cut before the file server answered the upload');
      }
      await res.body.dump();
      return { ok: true, bytes: Buffer.byteLength(spec.body ?? '') };
    }
    // The server's own announcement is checked before a byte of the body is read.
    const announced = Number(res.headers['content-length']);
    const early = Number.isFinite(announced) ? overrun(announced, fileSize, maxBytes, 'Content-Length') : undefined;
    if (early) {
      res.body.on('error', () => undefined);
      res.body.destroy();
      return early;
    }
    let bytes = 0;
    try {
      for await (const chunk of res.body) {
        bytes += (chunk as Buffer).length;
        // Past FileSize or the cap: stop reading now (leaving the loop destroys the body and its connection).
        const over = overrun(bytes, fileSize, maxBytes, 'the body');
        if (over) return over;
        // A reset link: the connection dies after the first bytes of the body.
        if (cutter) {
          cutter.abort();
          throw new Error('link reset: connection cut mid-body');
        }
      }
      if (cutter) throw new Error('link reset: connection cut mid-body');
    } catch (e) {
      // Connection cut or stalled mid-body: 9017 unable to complete the download
      return fail(9017, `download broke off after ${bytes} bytes: ${(e as Error).message}`);
    }
    if (Number.isFinite(announced) && announced !== bytes) return fail(9017, `got ${bytes} of ${announced} bytes`);
    // 9018 file corrupted: the ACS said how big the file is and it is not
    if (fileSize !== undefined && bytes !== fileSize) return fail(9018, `file is ${bytes} bytes, FileSize said ${fileSize}`);
    return { ok: true, bytes };
  }
  return fail(9012, 'file server refused the credentials');
}
