import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from '@jest/globals';
import { sessionChannel, type SessionEvent } from '../src/cwmp/diagnostics.js';
import { EV } from '../src/cwmp/events.js';
import { basicAuthorization } from '../src/http/digest.js';
import { atBootstrap, fixture, spv, startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const creds = { username: 'acs-user', password: 's3cret:with"odd chars' };

describe('authentication to the ACS', () => {
  it('answers a Basic challenge and keeps sending Basic for the session', async () => {
    h = await startHarness({ acs: { auth: { mode: 'basic', ...creds } }, acsCreds: creds });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true, 10_000, 'basic session');
    const s = h.acs.sessions[0]!;
    expect(s.authorization.length).toBeGreaterThanOrEqual(2);
    expect(s.authorization.every((a) => a.startsWith('Basic '))).toBe(true);
    await until(() => h!.shard.lifecycle(0) === 'ready');
  });

  it('answers a Digest challenge (qop auth) on the same connection and reuses the nonce with a rising nc', async () => {
    h = await startHarness({ acs: { auth: { mode: 'digest', ...creds } }, acsCreds: creds });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true, 10_000, 'digest session');
    const auths = h.acs.sessions[0]!.authorization;
    expect(auths[0]).toMatch(/^Digest /);
    expect(auths[0]).toMatch(/qop=auth,/);
    expect(auths[0]).toContain('username="acs-user"');
    // The whole session, the 401 included, rides one TCP connection (GenieACS binds the nonce to it).
    const ports = h.acs.sessions[0]!.ports;
    expect(new Set(ports).size).toBe(1);
    expect(h.acs.challengedPorts[0]).toBe(ports[0]);
    const ncs = auths.map((a) => /nc=([0-9a-f]{8})/.exec(a)![1]);
    expect(new Set(ncs).size).toBe(ncs.length);
    await until(() => h!.shard.lifecycle(0) === 'ready');
  });

  it('fails the session on wrong credentials and schedules a retry (lifecycle failed)', async () => {
    h = await startHarness({ acs: { auth: { mode: 'digest', ...creds } }, acsCreds: { username: 'acs-user', password: 'wrong' } });
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, 'failed');
    await settle(h);
    expect(h.acs.sessions).toHaveLength(0);
    expect(h.cwmp.retryDueAt(0)).toBeGreaterThan(h.clock.now());
  });

  it('uses credentials the ACS sets in ManagementServer.Username/Password from the next session on', async () => {
    h = await startHarness({
      acs: {
        auth: { mode: 'basic', ...creds },
        script: atBootstrap(spv('rot', ['Device.ManagementServer.Password', 'rotated', 'string'])),
      },
      acsCreds: creds,
    });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true);
    await until(() => h!.shard.lifecycle(0) === 'ready');
    expect(new Set(h.acs.sessions[0]!.authorization)).toEqual(new Set([basicAuthorization(creds.username, creds.password)]));
    // The next session authenticates with the rotated password, which this ACS refuses.
    const refusedBefore = h.acs.refusedAuthorizations.length;
    h.cwmp.raise(0, EV.PERIODIC);
    await settle(h);
    // What went on the wire, refused or not: Basic with the username kept and the rotated password, nothing else.
    const sent = [...h.acs.refusedAuthorizations.slice(refusedBefore), ...h.acs.sessions.slice(1).flatMap((s) => s.authorization)];
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(new Set(sent)).toEqual(new Set([basicAuthorization(creds.username, 'rotated')]));
    expect(Buffer.from(sent[0]!.slice('Basic '.length), 'base64').toString('utf8')).toBe('acs-user:rotated');
    expect(h.acs.sessions).toHaveLength(1);
    expect(h.shard.lifecycle(0)).toBe('failed');
  });
});

describe('session plumbing', () => {
  it('speaks HTTPS to an ACS whose CA is given by acsCaFile', async () => {
    h = await startHarness({
      acs: { tls: { key: readFileSync(fixture('tls/server-key.pem'), 'utf8'), cert: readFileSync(fixture('tls/server.pem'), 'utf8') } },
      acsCaFile: fixture('tls/ca.pem'),
    });
    expect(h.acs.url).toMatch(/^https:/);
    h.tick();
    await settle(h);
    expect(h.acs.sessions.map((s) => s.ended)).toEqual([true]); // the https session
    expect(h.shard.lifecycle(0)).toBe('ready');
  });

  it('refuses an HTTPS ACS whose certificate it cannot verify', async () => {
    h = await startHarness({ acs: { tls: { key: readFileSync(fixture('tls/server-key.pem'), 'utf8'), cert: readFileSync(fixture('tls/server.pem'), 'utf8') } } });
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, 'tls failure');
    expect(h.acs.sessions).toHaveLength(0);
  });

  describe('an HTTPS ACS that requires a client certificate (--acs-cert / --acs-key)', () => {
    const pem = (f: string): string => readFileSync(fixture(f), 'utf8');
    const acs = () => ({ tls: { key: pem('tls/server-key.pem'), cert: pem('tls/server.pem'), ca: pem('tls/client-ca.pem'), requestCert: true } });

    it('presents the certificate in the TLS handshake: the ACS sees its subject and the session runs', async () => {
      h = await startHarness({ acs: acs(), acsCaFile: fixture('tls/ca.pem'), acsCert: { certFile: fixture('tls/client.pem'), keyFile: fixture('tls/client-key.pem') } });
      h.tick();
      await settle(h);
      expect(h.acs.sessions.map((s) => [s.ended, s.clientCertCn])).toEqual([[true, 'cpe-sim test CPE']]);
      expect(h.shard.lifecycle(0)).toBe('ready');
    });

    it('without a certificate the ACS refuses the handshake and the CPE fails', async () => {
      const reasons: Array<string | undefined> = [];
      const onSession = (e: unknown): void => void reasons.push((e as SessionEvent).reason);
      sessionChannel.subscribe(onSession);
      try {
        h = await startHarness({ acs: acs(), acsCaFile: fixture('tls/ca.pem') });
        h.tick();
        await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, 'handshake refused');
      } finally {
        sessionChannel.unsubscribe(onSession);
      }
      expect(h.acs.sessions).toHaveLength(0);
      expect(reasons).toEqual(['io']);
    });

    it('a certificate the ACS does not trust is refused too', async () => {
      h = await startHarness({ acs: acs(), acsCaFile: fixture('tls/ca.pem'), acsCert: { certFile: fixture('tls/rogue.pem'), keyFile: fixture('tls/rogue-key.pem') } });
      h.tick();
      await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, 'untrusted certificate refused');
      expect(h.acs.sessions).toHaveLength(0);
    });
  });

  it('ends the session on an empty 200 as on a 204', async () => {
    h = await startHarness({ acs: { sessionEnd: 'empty200' } });
    h.tick();
    await settle(h);
    expect(h.acs.sessions.map((s) => s.ended)).toEqual([true]);
    expect(h.shard.lifecycle(0)).toBe('ready');
  });

  it('honours HoldRequests: no CPE request while the ACS holds, only the empty POST', async () => {
    h = await startHarness({ acs: { holdRequests: true } });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions[0]?.ended === true);
    expect(h.acs.sessions[0]!.messages.map((m) => m.message.method)).toEqual(['Empty']);
    await until(() => h!.shard.lifecycle(0) === 'ready');
  });
});
