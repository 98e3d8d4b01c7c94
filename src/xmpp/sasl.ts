// SASL for an XMPP client (RFC 6120 6): PLAIN (RFC 4616) and SCRAM-SHA-1 (RFC 5802),
// the two mechanisms TR-069 Annex K CPEs and common servers share. SCRAM's server
// signature is checked, so a server that does not know the password cannot pose as one.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';

export type Mechanism = 'SCRAM-SHA-1' | 'PLAIN';

/** The mechanism to use from those offered: SCRAM-SHA-1 first (the password never crosses the wire), then PLAIN. */
export function pickMechanism(offered: readonly string[]): Mechanism | undefined {
  if (offered.includes('SCRAM-SHA-1')) return 'SCRAM-SHA-1';
  if (offered.includes('PLAIN')) return 'PLAIN';
  return undefined;
}

export function plainMessage(username: string, password: string): string {
  return Buffer.from(`\0${username}\0${password}`, 'utf8').toString('base64');
}

/** RFC 5802 5.1: "=" and "," in a username are written =3D and =2C. */
const saslName = (s: string): string => s.replace(/=/g, '=3D').replace(/,/g, '=2C');

function pbkdf2Async(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => pbkdf2(password, salt, iterations, 20, 'sha1', (e, key) => (e ? reject(e) : resolve(key))));
}

const hmac = (key: Buffer, text: string): Buffer => createHmac('sha1', key).update(text).digest();

/** One SCRAM-SHA-1 exchange, client side. */
export class ScramSha1 {
  private readonly nonce = randomBytes(18).toString('base64');
  private readonly clientFirstBare: string;
  private serverSignature: Buffer | undefined;

  constructor(
    username: string,
    private readonly password: string,
  ) {
    this.clientFirstBare = `n=${saslName(username)},r=${this.nonce}`;
  }

  /** The initial response (base64), gs2 header "n,,": no channel binding, no authzid. */
  first(): string {
    return Buffer.from(`n,,${this.clientFirstBare}`).toString('base64');
  }

  /** The server's challenge (base64) -> the client's final message (base64); throws on a bad challenge. */
  async final(challengeB64: string): Promise<string> {
    const serverFirst = Buffer.from(challengeB64, 'base64').toString('utf8');
    const f = attrs(serverFirst);
    const r = f.get('r');
    const s = f.get('s');
    const i = Number(f.get('i'));
    if (!r || !r.startsWith(this.nonce) || r.length === this.nonce.length) throw new Error('SCRAM: the server nonce does not extend ours');
    if (!s || !Number.isInteger(i) || i < 1 || i > 1_000_000) throw new Error('SCRAM: no salt or a bad iteration count');
    const salted = await pbkdf2Async(this.password, Buffer.from(s, 'base64'), i);
    const withoutProof = `c=biws,r=${r}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash('sha1').update(clientKey).digest();
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let k = 0; k < proof.length; k++) proof[k] = clientKey[k]! ^ signature[k]!;
    this.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`).toString('base64');
  }

  /** The additional data of <success/> (base64): true when it carries the server signature we expect. */
  verify(successB64: string): boolean {
    const v = attrs(Buffer.from(successB64, 'base64').toString('utf8')).get('v');
    if (!v || !this.serverSignature) return false;
    const got = Buffer.from(v, 'base64');
    return got.length === this.serverSignature.length && timingSafeEqual(got, this.serverSignature);
  }
}

function attrs(msg: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of msg.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) m.set(part[0]!, part.slice(2));
  }
  return m;
}
