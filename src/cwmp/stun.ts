// STUN Binding messages as a TR-069 CPE sends and reads them (TR-111 part 2; TR-069
// Annex G): RFC 5389 wire format (the magic cookie makes an RFC 3489 server answer too),
// the TR-111 attributes CONNECTION-REQUEST-BINDING (0xC001) and BINDING-CHANGE (0xC002),
// and USERNAME when STUNUsername is set. Functions over Buffers and a source of transaction
// ids; the socket is the shard's (src/shard/udp-cr.ts).

import { randomFillSync } from 'node:crypto';

export const STUN_MAGIC = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const BINDING_ERROR = 0x0111;
const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_USERNAME = 0x0006;
const ATTR_ERROR_CODE = 0x0009;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
/** TR-111 part 2: marks the binding the ACS uses for UDP connection requests. */
export const ATTR_CONNECTION_REQUEST_BINDING = 0xc001;
/** TR-111 part 2: the CPE saw its binding change since its last Binding Request. */
export const ATTR_BINDING_CHANGE = 0xc002;
/** The value TR-111 gives CONNECTION-REQUEST-BINDING: 20 bytes, trailing space included. */
export const CONNECTION_REQUEST_BINDING_VALUE = 'dslforum.org/TR-111 ';

export interface BindingRequestOptions {
  /** 12 bytes. */
  transactionId: Buffer;
  /** Include BINDING-CHANGE (the mapped address changed since the last request). */
  bindingChange: boolean;
  /** STUNUsername; omitted when empty. */
  username?: string;
}

/**
 * Transaction ids (RFC 5389 6: uniformly random over 2^96), cut from a block of random bytes
 * filled by one RNG call per `perBlock` ids. Each id is a 12-byte view of its own slice of a
 * block; a block is never refilled, so ids never share bytes.
 */
export class TransactionIds {
  private block = Buffer.alloc(0);
  private at = 0;
  constructor(private readonly perBlock = 1024) {}
  next(): Buffer {
    if (this.at + 12 > this.block.length) {
      this.block = randomFillSync(Buffer.allocUnsafeSlow(12 * this.perBlock));
      this.at = 0;
    }
    return this.block.subarray(this.at, (this.at += 12));
  }
}

/** The CONNECTION-REQUEST-BINDING attribute, whole (type, length, value; 20 bytes need no padding). */
const CRB_ATTR = (() => {
  const b = Buffer.alloc(24);
  b.writeUInt16BE(ATTR_CONNECTION_REQUEST_BINDING, 0);
  b.writeUInt16BE(20, 2);
  b.write(CONNECTION_REQUEST_BINDING_VALUE, 4, 'latin1');
  return b;
})();

/** A Binding Request carrying CONNECTION-REQUEST-BINDING (and BINDING-CHANGE, USERNAME when asked). One allocation. */
export function bindingRequest(o: BindingRequestOptions): Buffer {
  if (o.transactionId.length !== 12) throw new Error('a STUN transaction id is 12 bytes');
  const user = o.username ? Buffer.from(o.username, 'utf8') : undefined;
  const userPadded = user ? user.length + ((4 - (user.length % 4)) % 4) : 0;
  const bodyLength = CRB_ATTR.length + (o.bindingChange ? 4 : 0) + (user ? 4 + userPadded : 0);
  const b = Buffer.alloc(20 + bodyLength);
  b.writeUInt16BE(BINDING_REQUEST, 0);
  b.writeUInt16BE(bodyLength, 2);
  b.writeUInt32BE(STUN_MAGIC, 4);
  o.transactionId.copy(b, 8);
  let at = 20 + CRB_ATTR.copy(b, 20);
  if (o.bindingChange) {
    b.writeUInt16BE(ATTR_BINDING_CHANGE, at);
    at += 4; // length 0
  }
  if (user) {
    b.writeUInt16BE(ATTR_USERNAME, at);
    b.writeUInt16BE(user.length, at + 2);
    user.copy(b, at + 4); // the padding stays zero
  }
  return b;
}

export type StunAnswer =
  | { kind: 'success'; transactionId: Buffer; mapped: { address: string; port: number } }
  | { kind: 'error'; transactionId: Buffer; code: number }
  /** A STUN message that is no answer to a Binding Request of ours, or one without a usable address. */
  | { kind: 'other'; transactionId: Buffer };

/** Whether a datagram looks like STUN at all (the first two bits are 0; RFC 5389 6). */
export function looksLikeStun(b: Buffer): boolean {
  return b.length >= 20 && (b[0]! & 0xc0) === 0;
}

function readAddress(v: Buffer, xor: boolean, tid: Buffer): { address: string; port: number } | undefined {
  if (v.length < 8) return undefined;
  const family = v[1];
  let port = v.readUInt16BE(2);
  if (xor) port ^= STUN_MAGIC >>> 16;
  if (family === 0x01) {
    let a = v.readUInt32BE(4);
    if (xor) a = (a ^ STUN_MAGIC) >>> 0;
    return { address: [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.'), port };
  }
  if (family === 0x02 && v.length >= 20) {
    const raw = Buffer.from(v.subarray(4, 20));
    if (xor) {
      const key = Buffer.alloc(16);
      key.writeUInt32BE(STUN_MAGIC, 0);
      tid.copy(key, 4);
      for (let i = 0; i < 16; i++) raw[i]! ^= key[i]!;
    }
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(raw.readUInt16BE(i).toString(16));
    // The URL parser writes IPv6 in its canonical (RFC 5952) form, as socket.address() does.
    return { address: new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1), port };
  }
  return undefined;
}

/** Read a Binding answer; undefined for anything that is not a well-formed STUN message. */
export function parseStunAnswer(b: Buffer): StunAnswer | undefined {
  if (!looksLikeStun(b)) return undefined;
  const type = b.readUInt16BE(0);
  const len = b.readUInt16BE(2);
  if (len % 4 !== 0 || 20 + len > b.length) return undefined;
  const cookie = b.readUInt32BE(4) === STUN_MAGIC;
  const tid = Buffer.from(b.subarray(8, 20));
  let mapped: { address: string; port: number } | undefined;
  let xorMapped: { address: string; port: number } | undefined;
  let code: number | undefined;
  for (let off = 20; off + 4 <= 20 + len; ) {
    const t = b.readUInt16BE(off);
    const l = b.readUInt16BE(off + 2);
    if (off + 4 + l > 20 + len) return undefined;
    const v = b.subarray(off + 4, off + 4 + l);
    if (t === ATTR_MAPPED_ADDRESS) mapped = readAddress(v, false, tid);
    else if (t === ATTR_XOR_MAPPED_ADDRESS && cookie) xorMapped = readAddress(v, true, tid);
    else if (t === ATTR_ERROR_CODE && l >= 4) code = (v[2]! & 7) * 100 + v[3]!;
    off += 4 + l + ((4 - (l % 4)) % 4);
  }
  if (type === BINDING_SUCCESS) {
    const m = xorMapped ?? mapped;
    return m ? { kind: 'success', transactionId: tid, mapped: m } : { kind: 'other', transactionId: tid };
  }
  if (type === BINDING_ERROR) return { kind: 'error', transactionId: tid, code: code ?? 0 };
  return { kind: 'other', transactionId: tid };
}
