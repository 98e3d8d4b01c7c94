// Connection requests as the owning shard sees them (TR-069 3.2.2; docs/cwmp-behaviour.md):
// Digest with the CPE's own ConnectionRequestUsername/Password read from its tree at
// the time of the request, 200 then a session carrying 6 CONNECTION REQUEST, 401 on bad
// credentials, 503 past the per-CPE rate limit. Nonces are HMAC-bound (no table to make
// one); an Authorization is good once: the highest nc used with each nonce is kept in a
// small bounded cache per shard (RFC 7616 3.4: the server checks the nonce count to
// detect replays), and a nonce that fell out of the cache is refused as stale.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CrReply, CrRequest } from '../threads/messages.js';
import type { CpeView } from '../datamodel/view.js';
import { checkNonce, digestChallenge, makeNonce, nonceStamp, parseAuthorization, verifyDigest } from '../http/digest.js';
import type { Clock } from '../scheduler/clock.js';

const NONCE_MAX_AGE_MS = 60_000;
const REALM = 'cpe-sim';
/** Nonces in use whose highest nc a shard remembers, by default. */
export const NONCE_CACHE_SIZE = 4096;

/** What answering a connection request needs of the shard. */
export interface CrTarget {
  /** Local slot of a global CPE index, if this shard owns it. */
  local(cpe: number): number | undefined;
  /** The CPE's own ConnectionRequestURL path, token included. */
  crPath(cpe: number): string;
  isPoweredOn(l: number): boolean;
  view(l: number): CpeView;
  /** Accepted: a session carrying 6 CONNECTION REQUEST follows. */
  requested(l: number): void;
}

export class ConnectionRequests {
  /** Only CPEs that accepted a CR recently have an entry. */
  private windows = new Map<number, { start: number; count: number }>();
  private lastSweep = 0;
  /** `<cpe> <nonce>` -> highest nc accepted with it, the nonce's timestamp and sequence; insertion ordered. */
  private readonly used = new Map<string, { nc: number; ts: number; seq: number }>();
  /** Nonces whose sequence is at or below this may have left `used`: refused as stale. */
  private floor = -1;
  /** Sequence number of the next nonce issued. */
  private seq = 0;
  private readonly cacheSize: number;
  /**
   * This instance's nonce key: the CR secret with a random salt, so a nonce issued before
   * a restart (whose replay cache is gone) is not accepted afterwards.
   */
  private readonly nonceKey: Buffer;

  constructor(
    private readonly target: CrTarget,
    private readonly cfg: { secret: string; rateLimit: { count: number; periodSec: number }; nonceCache?: number | undefined },
    private readonly clock: Clock,
  ) {
    this.cacheSize = Math.max(1, cfg.nonceCache ?? NONCE_CACHE_SIZE);
    this.nonceKey = createHmac('sha256', cfg.secret).update(randomBytes(16)).digest();
  }

  /** How many nonces the replay cache holds now (bounded by the cache size). */
  get nonceCacheEntries(): number {
    return this.used.size;
  }

  handle(cpe: number, req: CrRequest): CrReply {
    const l = this.target.local(cpe);
    const path = req.url.split('?')[0]!;
    if (l === undefined || path !== this.target.crPath(cpe)) return { status: 404, headers: {} };
    // TR-069 3.2.2: the ACS sends GET. HEAD gets what GET would (RFC 9110 9.3.2: same
    // status and headers, checked the same way, its Authorization good once too) but,
    // being a safe method (RFC 9110 9.2.1), starts no session and takes no place in the
    // rate limit.
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) return { status: 405, headers: { allow: 'GET, HEAD' } };
    // A CPE that has not powered on yet does not answer (as if unplugged): 503.
    if (!this.target.isPoweredOn(l)) return { status: 503, headers: {} };

    const view = this.target.view(l);
    const root = view.template.rootName;
    if (view.get(`${root}.ManagementServer.HTTPConnectionRequestEnable`) === 'false') return { status: 503, headers: {} };
    const username = view.get(`${root}.ManagementServer.ConnectionRequestUsername`) ?? '';
    const password = view.get(`${root}.ManagementServer.ConnectionRequestPassword`) ?? '';
    const now = this.clock.now();
    const scope = String(cpe);
    const challenge = (stale: boolean): CrReply => ({
      status: 401,
      headers: { 'www-authenticate': digestChallenge(REALM, makeNonce(this.nonceKey, scope, now, this.seq++), { stale }) },
    });

    const auth = parseAuthorization(req.authorization);
    // GenieACS and TR-069 use Digest for CR; Basic is refused with a Digest challenge.
    if (!auth || auth.scheme !== 'digest') return challenge(false);
    const p = auth.params;
    const nonceState = checkNonce(this.nonceKey, scope, p['nonce'] ?? '', now, NONCE_MAX_AGE_MS);
    if (nonceState === 'bad' || p['realm'] !== REALM || !sameUri(p['uri'] ?? '', req.url)) return challenge(false);
    if (!safeEqual(p['username'] ?? '', username) || !verifyDigest(p, req.method, password)) return challenge(false);
    if (nonceState === 'stale') return challenge(true);
    // Good once: a nonce count not above the last one accepted with this nonce is a replay.
    const fresh = this.useNonce(scope, p['nonce']!, p['qop'] === undefined ? undefined : p['nc'], now);
    if (fresh !== 'ok') return challenge(fresh === 'stale');

    if (!this.admit(l, now, !head)) return { status: 503, headers: {} };
    if (!head) this.target.requested(l);
    return { status: 200, headers: {} };
  }

  /**
   * Record nc for (scope, nonce). 'replay' when it is not above the highest seen; 'stale'
   * when the nonce is older than anything the bounded cache can still vouch for. Without
   * qop (RFC 2069 style) there is no nc: the nonce is good once.
   */
  private useNonce(scope: string, nonce: string, ncText: string | undefined, now: number): 'ok' | 'replay' | 'stale' {
    let nc = 1;
    if (ncText !== undefined) {
      if (!/^[0-9a-fA-F]{8}$/.test(ncText)) return 'replay';
      nc = parseInt(ncText, 16);
      if (nc === 0) return 'replay';
    }
    const stamp = nonceStamp(nonce);
    if (!stamp || stamp.seq < 0) return 'stale';
    const key = `${scope} ${nonce}`;
    const seen = this.used.get(key);
    if (seen) {
      if (nc <= seen.nc) return 'replay';
      seen.nc = nc;
      return 'ok';
    }
    if (stamp.seq <= this.floor) return 'stale';
    if (this.used.size >= this.cacheSize) {
      // The oldest entered go first; an expired one (checkNonce calls it stale anyway)
      // leaves without raising the floor.
      for (const [k, e] of this.used) {
        const expired = now - e.ts > NONCE_MAX_AGE_MS;
        if (!expired && this.used.size < this.cacheSize) break;
        this.used.delete(k);
        if (!expired && e.seq > this.floor) this.floor = e.seq;
      }
      if (stamp.seq <= this.floor) return 'stale';
    }
    this.used.set(key, { nc, ts: stamp.ts, seq: stamp.seq });
    return 'ok';
  }

  /** A UDP connection request (TR-069 Annex G) takes its place in the same per-CPE rate limit; false: refused. */
  admitUdp(l: number): boolean {
    return this.admit(l, this.clock.now());
  }

  /** Per-CPE fixed window: at most rateLimit.count accepted per period; `take` false only looks. */
  private admit(l: number, now: number, take = true): boolean {
    const periodMs = this.cfg.rateLimit.periodSec * 1000;
    if (now - this.lastSweep > periodMs) {
      for (const [k, w] of this.windows) if (now - w.start >= periodMs) this.windows.delete(k);
      this.lastSweep = now;
    }
    const w = this.windows.get(l);
    if (!w || now - w.start >= periodMs) {
      if (take) this.windows.set(l, { start: now, count: 1 });
      return true;
    }
    if (w.count >= this.cfg.rateLimit.count) return false;
    if (take) w.count++;
    return true;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The Digest uri may be the path or the absolute URL (some clients send either). */
function sameUri(digestUri: string, requestUrl: string): boolean {
  if (digestUri === requestUrl) return true;
  try {
    const u = new URL(digestUri);
    return u.pathname + u.search === requestUrl;
  } catch {
    return false;
  }
}
