// HTTP by hand on a raw socket, for what a library client would not send: other HTTP
// versions, garbage, huge heads, requests trickled a byte at a time.
import { connect } from 'node:net';

export interface RawResult {
  /** Everything the server sent (latin1). */
  raw: string;
  /** The server closed (or reset) the connection before we hung up. */
  closed: boolean;
}

/**
 * Send `bytes` (or the chunks one by one, `gapMs` apart) and read until the server closes,
 * `until` holds on what came, or `timeoutMs` (then whatever came, closed false).
 */
export function rawExchange(port: number, bytes: string | Buffer | Array<string | Buffer>, o: { until?: (raw: string) => boolean; timeoutMs?: number; gapMs?: number; host?: string; end?: boolean } = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const s = connect(port, o.host ?? '127.0.0.1');
    let raw = '';
    let finished = false;
    const finish = (closed: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearInterval(drip);
      s.destroy();
      resolve({ raw, closed });
    };
    const timer = setTimeout(() => finish(false), o.timeoutMs ?? 10_000);
    let drip: NodeJS.Timeout | undefined;
    s.on('data', (d: Buffer) => {
      raw += d.toString('latin1');
      if (o.until?.(raw)) finish(false);
    });
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    s.on('connect', () => {
      if (!Array.isArray(bytes)) {
        s.write(bytes);
        // `end`: half-close after sending (the server may still answer).
        if (o.end) s.end();
        return;
      }
      const chunks = [...bytes];
      drip = setInterval(() => {
        const c = chunks.shift();
        if (c === undefined) return clearInterval(drip);
        if (!s.destroyed && s.writable) s.write(c);
      }, o.gapMs ?? 0);
    });
  });
}

export interface ParsedResponse {
  statusLine: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The first response in `raw`: status, lower-cased headers, and what follows the head. */
export function parseResponse(raw: string): ParsedResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete response head in ${JSON.stringify(raw.slice(0, 200))}`);
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
  return { statusLine: statusLine!, status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1] ?? 0), headers, body: raw.slice(end + 4) };
}

/** A deterministic PRNG (mulberry32): the same seed gives the same inputs, so a failure reproduces. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
