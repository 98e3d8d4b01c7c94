// UDP connection requests (TR-069 Annex G): one datagram holding an HTTP-like request,
//   GET http://host:port?ts=<unix s>&id=<n>&un=<username>&cn=<cnonce>&sig=<hex> HTTP/1.1
// with sig = hex HMAC-SHA1(key = ConnectionRequestPassword, text = ts || id || un || cn).
// Pure parsing and signing; which CPE, replays and the clock are the shard's
// (src/shard/udp-cr.ts). A UDP connection request is never answered.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Why a UDP connection request was ignored, or that it was accepted (cpe_sim_udp_connection_requests_total{result}). */
export const UDP_CR_RESULTS = ['accepted', 'malformed', 'stale', 'unknown-user', 'bad-signature', 'ambiguous', 'replay', 'offline', 'rate-limited'] as const;
export type UdpCrResult = (typeof UDP_CR_RESULTS)[number];

export interface UdpCrMessage {
  ts: string;
  id: string;
  un: string;
  cn: string;
  sig: string;
}

/** Longest datagram read as a request: a request line with five short values fits well within it. */
export const UDP_CR_MAX_BYTES = 2048;

function decode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/**
 * The five values of a UDP connection request, or undefined when the datagram is not one:
 * not `GET <absolute http URI with a query> HTTP/1.1` on its first line, a value missing,
 * ts or id not decimal digits, sig not 40 hex digits.
 */
export function parseUdpConnectionRequest(datagram: Buffer): UdpCrMessage | undefined {
  if (datagram.length === 0 || datagram.length > UDP_CR_MAX_BYTES) return undefined;
  const text = datagram.toString('utf8');
  const end = text.indexOf('\r\n');
  const line = end < 0 ? text : text.slice(0, end);
  const m = /^GET (\S+) HTTP\/1\.1$/.exec(line);
  if (!m) return undefined;
  const target = m[1]!;
  if (!/^http:\/\//i.test(target)) return undefined;
  const q = target.indexOf('?');
  if (q < 0) return undefined;
  const values = new Map<string, string>();
  for (const part of target.slice(q + 1).split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const k = part.slice(0, eq);
    // A key given twice is ambiguous: not a request.
    if (values.has(k)) return undefined;
    values.set(k, decode(part.slice(eq + 1)));
  }
  const ts = values.get('ts');
  const id = values.get('id');
  const un = values.get('un');
  const cn = values.get('cn');
  const sig = values.get('sig');
  if (ts === undefined || id === undefined || un === undefined || cn === undefined || sig === undefined) return undefined;
  if (!/^\d{1,12}$/.test(ts) || !/^\d{1,20}$/.test(id) || !/^[0-9a-fA-F]{40}$/.test(sig)) return undefined;
  return { ts, id, un, cn, sig: sig.toLowerCase() };
}

/** Annex G's signature: lower-case hex HMAC-SHA1 keyed with the CR password over ts || id || un || cn. */
export function udpCrSignature(password: string, m: Omit<UdpCrMessage, 'sig'>): string {
  return createHmac('sha1', password).update(`${m.ts}${m.id}${m.un}${m.cn}`).digest('hex');
}

export function signatureMatches(password: string, m: UdpCrMessage): boolean {
  const want = Buffer.from(udpCrSignature(password, m), 'latin1');
  const got = Buffer.from(m.sig, 'latin1');
  return want.length === got.length && timingSafeEqual(want, got);
}
