// Connection requests as the owning shard sees them (TR-069 3.2.2; docs/cwmp-behaviour.md):
// Digest with the CPE's own ConnectionRequestUsername/Password read from its tree at
// the time of the request, 200 then a session carrying 6 CONNECTION REQUEST, 401 on bad
// credentials, 503 past the per-CPE rate limit. Nonces are stateless (HMAC-bound).
import { timingSafeEqual } from 'node:crypto';
import type { CrReply, CrRequest } from '../threads/messages.js';
import type { CpeView } from '../datamodel/view.js';
import { checkNonce, digestChallenge, makeNonce, parseAuthorization, verifyDigest } from '../http/digest.js';
import type { Clock } from '../scheduler/clock.js';

const NONCE_MAX_AGE_MS = 60_000;
const REALM = 'cpe-sim';

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

  constructor(
    private readonly target: CrTarget,
    private readonly cfg: { secret: string; rateLimit: { count: number; periodSec: number } },
    private readonly clock: Clock,
  ) {}

  handle(cpe: number, req: CrRequest): CrReply {
    const l = this.target.local(cpe);
    const path = req.url.split('?')[0]!;
    if (l === undefined || path !== this.target.crPath(cpe)) return { status: 404, headers: {} };
    // TR-069 3.2.2: the ACS sends GET
    if (req.method !== 'GET') return { status: 405, headers: { allow: 'GET' } };
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
      headers: { 'www-authenticate': digestChallenge(REALM, makeNonce(this.cfg.secret, scope, now), { stale }) },
    });

    const auth = parseAuthorization(req.authorization);
    // GenieACS and TR-069 use Digest for CR; Basic is refused with a Digest challenge.
    if (!auth || auth.scheme !== 'digest') return challenge(false);
    const p = auth.params;
    const nonceState = checkNonce(this.cfg.secret, scope, p['nonce'] ?? '', now, NONCE_MAX_AGE_MS);
    if (nonceState === 'bad' || p['realm'] !== REALM || !sameUri(p['uri'] ?? '', req.url)) return challenge(false);
    if (!safeEqual(p['username'] ?? '', username) || !verifyDigest(p, req.method, password)) return challenge(false);
    if (nonceState === 'stale') return challenge(true);

    if (!this.admit(l, now)) return { status: 503, headers: {} };
    this.target.requested(l);
    return { status: 200, headers: {} };
  }

  /** Per-CPE fixed window: at most rateLimit.count accepted per period. */
  private admit(l: number, now: number): boolean {
    const periodMs = this.cfg.rateLimit.periodSec * 1000;
    if (now - this.lastSweep > periodMs) {
      for (const [k, w] of this.windows) if (now - w.start >= periodMs) this.windows.delete(k);
      this.lastSweep = now;
    }
    const w = this.windows.get(l);
    if (!w || now - w.start >= periodMs) {
      this.windows.set(l, { start: now, count: 1 });
      return true;
    }
    if (w.count >= this.cfg.rateLimit.count) return false;
    w.count++;
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
