// A UDP connection-request sender written to TR-069 Annex G, byte for byte what GenieACS's
// `udpConnectionRequest` (lib/connection-request.ts) puts on the wire: ts = whole seconds,
// id = a random integer below 2^32, cn = 8 random bytes in hex, sig = hex HMAC-SHA1 keyed
// with the CR password over ts + id + un + cn, the values unescaped in the query, the line
//   GET http://<host>:<port>?ts=..&id=..&un=..&cn=..&sig=.. HTTP/1.1\r\nHost: <host>:<port>\r\n\r\n
// and each message sent three times from one socket. GenieACS itself cannot be driven
// here: the function is not exported by its npm package, and its callers need MongoDB.
import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';

export interface UdpCrFields {
  ts: number;
  id: number;
  un: string;
  cn: string;
  /** Override the signature (a wrong one); by default it is computed from `password`. */
  sig?: string;
}

/** The datagram GenieACS would send to host:port for these fields. */
export function udpCrMessage(host: string, port: number, password: string, f: UdpCrFields): Buffer {
  const sig = f.sig ?? createHmac('sha1', password).update(`${f.ts}${f.id}${f.un}${f.cn}`).digest('hex');
  const uri = `http://${host}:${port}?ts=${f.ts}&id=${f.id}&un=${f.un}&cn=${f.cn}&sig=${sig}`;
  return Buffer.from(`GET ${uri} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
}

/** Fresh fields as GenieACS draws them, at `nowMs`. */
export function freshFields(un: string, nowMs: number): UdpCrFields {
  return { ts: Math.trunc(nowMs / 1000), id: Math.trunc(Math.random() * 4294967295), un, cn: randomBytes(8).toString('hex') };
}

/** Send the message `copies` times (GenieACS: 3) to host:port, as GenieACS does, from one socket. */
export async function sendUdpCr(host: string, port: number, message: Buffer, copies = 3): Promise<void> {
  const s = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: true });
  try {
    for (let i = 0; i < copies; i++) {
      await new Promise<void>((resolve, reject) => s.send(message, 0, message.length, port, host, (err) => (err ? reject(err) : resolve())));
    }
  } finally {
    s.close();
  }
}
