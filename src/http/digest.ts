// HTTP Basic and Digest (RFC 7616 with MD5, qop auth / auth-int; RFC 2617 without qop).
// Used by CPEs authenticating to an ACS, by the connection-request listener checking an
// ACS, and by the mock ACS.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Challenge {
  scheme: string; // lower-case: 'basic' | 'digest' | ...
  params: Record<string, string>;
}

const md5 = (s: string | Buffer): string => createHash('md5').update(s).digest('hex');

/** Parse auth-params `a=b, c="d, e"` starting at `pos`; returns params and where it stopped. */
function parseParams(s: string, pos: number): { params: Record<string, string>; end: number } {
  const params: Record<string, string> = {};
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/y;
  for (;;) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m || m[0] === '') break;
    // A following token without '=' starts the next challenge.
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
    pos = re.lastIndex;
    if (pos >= s.length) break;
  }
  return { params, end: pos };
}

/** Parse one or more WWW-Authenticate headers into challenges. */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const list = Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const h of list) {
    let pos = 0;
    while (pos < h.length) {
      const m = /\s*,?\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)/y;
      m.lastIndex = pos;
      const sm = m.exec(h);
      if (!sm) break;
      pos = m.lastIndex;
      const { params, end } = parseParams(h, pos);
      out.push({ scheme: sm[1]!.toLowerCase(), params });
      pos = end;
    }
  }
  return out;
}

/** Parse an Authorization header: scheme and params (Digest) or token (Basic). */
export function parseAuthorization(header: string | undefined): { scheme: string; params: Record<string, string>; token: string } | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z]+)\s+(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'basic') return { scheme, params: {}, token: m[2]!.trim() };
  return { scheme, params: parseParams(m[2]!, 0).params, token: '' };
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

export interface DigestClientState {
  challenge: Challenge;
  nc: number;
}

const quote = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;

/** Authorization header answering a Digest challenge (MD5 / MD5-sess; qop auth preferred). */
export function digestAuthorization(
  state: DigestClientState,
  creds: { username: string; password: string },
  method: string,
  uri: string,
  body: string,
): string {
  const p = state.challenge.params;
  const realm = p['realm'] ?? '';
  const nonce = p['nonce'] ?? '';
  const algorithm = (p['algorithm'] ?? 'MD5').toUpperCase();
  const qops = (p['qop'] ?? '').split(',').map((q) => q.trim().toLowerCase()).filter(Boolean);
  const qop = qops.includes('auth') ? 'auth' : qops.includes('auth-int') ? 'auth-int' : undefined;
  const cnonce = randomBytes(8).toString('hex');
  state.nc += 1;
  const nc = state.nc.toString(16).padStart(8, '0');
  let ha1 = md5(`${creds.username}:${realm}:${creds.password}`);
  if (algorithm === 'MD5-SESS') ha1 = md5(`${ha1}:${nonce}:${cnonce}`);
  const ha2 = qop === 'auth-int' ? md5(`${method}:${uri}:${md5(body)}`) : md5(`${method}:${uri}`);
  const response = qop ? md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : md5(`${ha1}:${nonce}:${ha2}`);
  const parts = [
    `username=${quote(creds.username)}`,
    `realm=${quote(realm)}`,
    `nonce=${quote(nonce)}`,
    `uri=${quote(uri)}`,
    `response=${quote(response)}`,
  ];
  if (p['algorithm']) parts.push(`algorithm=${p['algorithm']}`);
  if (p['opaque'] !== undefined) parts.push(`opaque=${quote(p['opaque'])}`);
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
  return `Digest ${parts.join(', ')}`;
}

// ---- server side ----

/**
 * Stateless nonces: `<ms timestamp hex>[.<sequence hex>].<hmac>` bound to a key and a scope
 * (the CPE), so a server keeps no per-CPE nonce table and can check freshness. The optional
 * sequence number orders nonces a server issued (the CR listener's replay cache uses it).
 */
export function makeNonce(secret: string | Buffer, scope: string, now: number, seq?: number): string {
  const ts = Math.floor(now).toString(16);
  const stamp = seq === undefined ? ts : `${ts}.${seq.toString(16)}`;
  const mac = createHmac('sha256', secret).update(`${stamp}:${scope}`).digest('hex').slice(0, 32);
  return `${stamp}.${mac}`;
}

const NONCE_RE = /^(([0-9a-f]{1,13})(?:\.([0-9a-f]{1,13}))?)\.([0-9a-f]{32})$/;

export function checkNonce(secret: string | Buffer, scope: string, nonce: string, now: number, maxAgeMs: number): 'ok' | 'stale' | 'bad' {
  const m = NONCE_RE.exec(nonce);
  if (!m) return 'bad';
  const expect = createHmac('sha256', secret).update(`${m[1]}:${scope}`).digest('hex').slice(0, 32);
  if (!timingSafeEqual(Buffer.from(expect), Buffer.from(m[4]!))) return 'bad'; // both 32 ASCII hex digits by the regex
  const age = now - parseInt(m[2]!, 16);
  return age >= -5000 && age <= maxAgeMs ? 'ok' : 'stale';
}

/** The timestamp and sequence number of a nonce made by makeNonce (sequence -1 when it has none). */
export function nonceStamp(nonce: string): { ts: number; seq: number } | undefined {
  const m = NONCE_RE.exec(nonce);
  return m ? { ts: parseInt(m[2]!, 16), seq: m[3] === undefined ? -1 : parseInt(m[3], 16) } : undefined;
}

export function digestChallenge(realm: string, nonce: string, opts: { stale?: boolean; qop?: string } = {}): string {
  return `Digest realm=${quote(realm)}, qop="${opts.qop ?? 'auth'}", nonce=${quote(nonce)}, algorithm=MD5${opts.stale ? ', stale=true' : ''}`;
}

/** Check a Digest Authorization's response against the password (qop auth / auth-int / none). */
export function verifyDigest(params: Record<string, string>, method: string, password: string, body = ''): boolean {
  const { username = '', realm = '', nonce = '', uri = '', response = '', qop, nc = '', cnonce = '' } = params;
  const algorithm = (params['algorithm'] ?? 'MD5').toUpperCase();
  let ha1 = md5(`${username}:${realm}:${password}`);
  if (algorithm === 'MD5-SESS') ha1 = md5(`${ha1}:${nonce}:${cnonce}`);
  else if (algorithm !== 'MD5') return false;
  const q = qop?.toLowerCase();
  const ha2 = q === 'auth-int' ? md5(`${method}:${uri}:${md5(body)}`) : md5(`${method}:${uri}`);
  const expect = q ? md5(`${ha1}:${nonce}:${nc}:${cnonce}:${q}:${ha2}`) : md5(`${ha1}:${nonce}:${ha2}`);
  const got = Buffer.from(response.toLowerCase());
  return got.length === expect.length && timingSafeEqual(Buffer.from(expect), got);
}

export function verifyBasic(token: string, username: string, password: string): boolean {
  const expect = Buffer.from(Buffer.from(`${username}:${password}`, 'utf8').toString('base64'));
  const got = Buffer.from(token);
  return got.length === expect.length && timingSafeEqual(expect, got);
}
