import { request } from 'node:http';
import { afterEach, describe, expect, it } from '@jest/globals';
import { EV } from '../src/cwmp/events.js';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { atBootstrap, bootstrapped, eventCodes, spv, startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const creds = (h: Harness, l = 0) => ({
  url: h.shard.env.crUrl(h.shard.init.lo + l),
  user: h.shard.view(l).get('Device.ManagementServer.ConnectionRequestUsername')!,
  pass: h.shard.view(l).get('Device.ManagementServer.ConnectionRequestPassword')!,
});

function rawGet(url: string, opts: { method?: string; authorization?: string } = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request(url, { method: opts.method ?? 'GET', agent: false, headers: opts.authorization ? { authorization: opts.authorization } : {} }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

describe('connection requests (TR-069 3.2.2) over the real listener', () => {
  it('publishes an unguessable per-CPE URL and answers good Digest with 200 then a 6 CONNECTION REQUEST session', async () => {
    h = await startHarness({ cpes: 2, cr: true });
    await bootstrapped(h);
    await h.acs.waitFor(() => h!.acs.sessions.filter((s) => s.ended).length === 2);
    const c = creds(h);
    expect(c.url).toMatch(new RegExp(`^${h.crBase}/cr/0/[0-9a-f]{24}$`));
    expect(creds(h, 1).url).not.toBe(c.url.replace('/cr/0/', '/cr/1/'));
    const before = h.acs.sessions.length;
    const r = await MockAcs.connectionRequest(c.url, c.user, c.pass);
    expect(r).toEqual({ status: 200, challenged: true });
    await h.acs.waitFor(() => h!.acs.sessions.length > before && h!.acs.sessions.at(-1)!.ended, 10_000, 'CR session');
    const s = h.acs.sessions.at(-1)!;
    expect(s.inform.deviceId.serialNumber).toBe(h.shard.env.serial(0));
    expect(eventCodes(s)).toEqual(['6 CONNECTION REQUEST']);
  });

  it('challenges with Digest (realm, qop, nonce) and refuses wrong credentials, Basic and no credentials with 401', async () => {
    h = await startHarness({ cr: true });
    await bootstrapped(h);
    const c = creds(h);
    const none = await rawGet(c.url);
    expect(none.status).toBe(401);
    expect(String(none.headers['www-authenticate'])).toMatch(/^Digest realm="cpe-sim", qop="auth", nonce="[0-9a-f]+\.[0-9a-f]+\.[0-9a-f]{32}", algorithm=MD5$/);
    expect((await MockAcs.connectionRequest(c.url, c.user, 'wrong')).status).toBe(401);
    expect((await MockAcs.connectionRequest(c.url, 'someone-else', c.pass)).status).toBe(401);
    expect((await MockAcs.connectionRequest(c.url, c.user, c.pass, { basic: true })).status).toBe(401);
    await settle(h);
    expect(h.acs.sessions).toHaveLength(1);
  });

  it('404s a wrong token or an unknown CPE, 405s a POST', async () => {
    h = await startHarness({ cr: true });
    await bootstrapped(h);
    const c = creds(h);
    expect((await rawGet(c.url.replace(/[0-9a-f]{24}$/, 'f'.repeat(24)))).status).toBe(404);
    expect((await rawGet(`${h.crBase}/cr/7/abc`)).status).toBe(404);
    expect((await rawGet(`${h.crBase}/elsewhere`)).status).toBe(404);
    expect((await rawGet(c.url, { method: 'POST' })).status).toBe(405);
  });

  it('answers 503 past the per-CPE rate limit, without Retry-After', async () => {
    h = await startHarness({ cr: true, crRateLimit: { count: 2, periodSec: 60 } });
    await bootstrapped(h);
    const c = creds(h);
    expect((await MockAcs.connectionRequest(c.url, c.user, c.pass)).status).toBe(200);
    expect((await MockAcs.connectionRequest(c.url, c.user, c.pass)).status).toBe(200);
    const third = await MockAcs.connectionRequest(c.url, c.user, c.pass);
    expect(third.status).toBe(503);
    // The same refusal on the wire, with a fresh Digest exchange: 503 and no Retry-After.
    const challenge = await rawGet(c.url);
    const { digestAuthorization, parseChallenges } = await import('../src/http/digest.js');
    const ch = parseChallenges(String(challenge.headers['www-authenticate']))[0]!;
    const refused = await rawGet(c.url, { authorization: digestAuthorization({ challenge: ch, nc: 0 }, { username: c.user, password: c.pass }, 'GET', new URL(c.url).pathname, '') });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBeUndefined();
    // A new period admits again.
    h.tick(61_000);
    expect((await MockAcs.connectionRequest(c.url, c.user, c.pass)).status).toBe(200);
  });

  it('obeys an ACS that changes ConnectionRequestUsername/Password', async () => {
    h = await startHarness({
      cr: true,
      acs: {
        script: atBootstrap(
          spv('cr', ['Device.ManagementServer.ConnectionRequestUsername', 'acs-chosen', 'string'], ['Device.ManagementServer.ConnectionRequestPassword', 'n3w-pass', 'string']),
        ),
      },
    });
    const old = { user: h.shard.view(0).get('Device.ManagementServer.ConnectionRequestUsername')!, pass: h.shard.view(0).get('Device.ManagementServer.ConnectionRequestPassword')! };
    await bootstrapped(h);
    const url = h.shard.env.crUrl(0);
    expect((await MockAcs.connectionRequest(url, old.user, old.pass)).status).toBe(401);
    expect((await MockAcs.connectionRequest(url, 'acs-chosen', 'n3w-pass')).status).toBe(200);
  });

  it('503s a CPE that has not powered on yet', async () => {
    h = await startHarness({ cr: true, cpes: 2, bootRamp: { mode: 'rate', perSecond: 1 } });
    h.tick();
    const c = creds(h, 1);
    expect((await MockAcs.connectionRequest(c.url, c.user, c.pass)).status).toBe(503);
  });

  it('coalesces connection requests made before the session starts into one session', async () => {
    let slow = false;
    h = await startHarness({ cr: true, maxSessions: 1, cpes: 2, acs: { informDelayMs: (inform) => (slow && inform.deviceId.serialNumber.endsWith('1') ? 500 : 0) } });
    await bootstrapped(h);
    await h.acs.waitFor(() => h!.acs.sessions.filter((s) => s.ended).length === 2);
    await until(() => h!.shard.lifecycle(1) === 'ready');
    const before = h.acs.sessions.length;
    // CPE 1 holds the only session slot (its ACS is slow), so CPE 0's requests queue up behind it.
    slow = true;
    h.cwmp.raise(1, EV.PERIODIC);
    const c = creds(h);
    expect((await MockAcs.connectionRequest(c.url, c.user, c.pass)).status).toBe(200);
    expect((await MockAcs.connectionRequest(c.url, c.user, c.pass)).status).toBe(200);
    await h.acs.waitFor(() => h!.acs.sessions.length >= before + 2 && h!.acs.sessions.slice(before).every((s) => s.ended), 10_000, 'sessions');
    await settle(h);
    const cr = h.acs.sessions.slice(before).filter((s) => s.inform.deviceId.serialNumber === h!.shard.env.serial(0));
    expect(cr).toHaveLength(1);
    expect(eventCodes(cr[0]!)).toEqual(['6 CONNECTION REQUEST']);
  });

  it('uses --cr-username/--cr-password patterns when configured', async () => {
    h = await startHarness({ cr: true, cpes: 2, crCreds: { username: 'cr-{serial}', password: 'pw-{index}' } });
    await bootstrapped(h);
    const url = h.shard.env.crUrl(1);
    await until(() => h!.shard.lifecycle(1) === 'ready');
    expect((await MockAcs.connectionRequest(url, `cr-${h.shard.env.serial(1)}`, 'pw-1')).status).toBe(200);
    expect((await MockAcs.connectionRequest(url, `cr-${h.shard.env.serial(1)}`, 'pw-0')).status).toBe(401);
  });

  it('answers 401, not 500, to a Digest response with non-ASCII bytes', async () => {
    h = await startHarness({ cr: true });
    await bootstrapped(h);
    const c = creds(h);
    const challenge = await rawGet(c.url);
    const nonce = /nonce="([^"]+)"/.exec(String(challenge.headers['www-authenticate']))![1];
    const path = new URL(c.url).pathname;
    const auth = `Digest username="${c.user}", realm="cpe-sim", nonce="${nonce}", uri="${path}", response="${'é'.repeat(16)}", qop=auth, nc=00000001, cnonce="ab"`;
    expect((await rawGet(c.url, { authorization: auth })).status).toBe(401);
  });

  describe('an Authorization is good once (RFC 7616 3.4 nonce count)', () => {
    const authFor = async (c: { url: string; user: string; pass: string }) => {
      const { digestAuthorization, parseChallenges } = await import('../src/http/digest.js');
      const challenge = await rawGet(c.url);
      expect(challenge.status).toBe(401);
      const state = { challenge: parseChallenges(String(challenge.headers['www-authenticate']))[0]!, nc: 0 };
      return () => digestAuthorization(state, { username: c.user, password: c.pass }, 'GET', new URL(c.url).pathname, '');
    };

    it('refuses the same Authorization replayed with 401 and a fresh challenge; a higher nc with the same nonce works', async () => {
      h = await startHarness({ cr: true });
      await bootstrapped(h);
      const c = creds(h);
      const next = await authFor(c);
      const first = next(); // nc=00000001
      expect((await rawGet(c.url, { authorization: first })).status).toBe(200);
      for (let i = 0; i < 3; i++) {
        const replay = await rawGet(c.url, { authorization: first });
        expect(replay.status).toBe(401);
        expect(String(replay.headers['www-authenticate'])).toMatch(/^Digest realm="cpe-sim", qop="auth", nonce="[^"]+", algorithm=MD5$/);
      }
      const second = next(); // nc=00000002, same nonce
      expect(second).toContain('nc=00000002');
      expect((await rawGet(c.url, { authorization: second })).status).toBe(200);
      expect((await rawGet(c.url, { authorization: second })).status).toBe(401);
      // A lower nc than the highest accepted is a replay too.
      expect((await rawGet(c.url, { authorization: first })).status).toBe(401);
    });

    it('keeps the replay cache bounded; a nonce that left it is refused as stale, never accepted again', async () => {
      h = await startHarness({ cr: true, crNonceCache: 3, crRateLimit: { count: 1000, periodSec: 60 } });
      await bootstrapped(h);
      const c = creds(h);
      const gens = [];
      for (let i = 0; i < 8; i++) gens.push(await authFor(c));
      for (const g of gens) expect((await rawGet(c.url, { authorization: g() })).status).toBe(200);
      expect(h.shard.cr.nonceCacheEntries).toBe(3);
      // The first nonce fell out of the cache: a new nc with it gets a stale challenge.
      const old = await rawGet(c.url, { authorization: gens[0]!() });
      expect(old.status).toBe(401);
      expect(String(old.headers['www-authenticate'])).toMatch(/, stale=true$/);
      // The newest is still tracked: next nc works, a replay does not.
      const last = gens[7]!();
      expect((await rawGet(c.url, { authorization: last })).status).toBe(200);
      expect((await rawGet(c.url, { authorization: last })).status).toBe(401);
      expect(h.shard.cr.nonceCacheEntries).toBe(3);
      // The ordinary exchange (challenge, then answer) keeps working.
      expect((await MockAcs.connectionRequest(c.url, c.user, c.pass)).status).toBe(200);
    });

    it('answers an expired nonce with a stale challenge even when its nc is new', async () => {
      h = await startHarness({ cr: true });
      await bootstrapped(h);
      const c = creds(h);
      const next = await authFor(c);
      expect((await rawGet(c.url, { authorization: next() })).status).toBe(200);
      h.tick(61_000);
      const late = await rawGet(c.url, { authorization: next() });
      expect(late.status).toBe(401);
      expect(String(late.headers['www-authenticate'])).toMatch(/, stale=true$/);
    });
  });
});
