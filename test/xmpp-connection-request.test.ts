// XMPP connection requests (TR-069 Amendment 6 Annex K) against a real prosody started
// here on a free loopback port: CPEs log in with their Device.XMPP.Connection.1
// credentials, publish the bound JID as ConnReqJabberID, and answer connectionRequest
// iqs sent by an ACS-side client (the same XMPP client, logged in as the ACS's JID).
import { afterEach, describe, expect, it } from '@jest/globals';
import { ThreadMetrics } from '../src/metrics/thread-metrics.js';
import type { XmppInit } from '../src/threads/messages.js';
import { errorCondition, NS_STANZAS, XmppClient } from '../src/xmpp/client.js';
import { NS_CONNREQ } from '../src/xmpp/conn-req.js';
import { child, escapeXml, type XmlEl } from '../src/xmpp/xml-stream.js';
import { eventCodes, fixture, startHarness, until, type Harness } from './helpers/harness.js';
import { startProsody, type Prosody } from './helpers/prosody.js';
import { settle } from './helpers/settle.js';
import { metricValue } from './helpers/usp-fleet.js';

let h: Harness | undefined;
let server: Prosody | undefined;
let acs: XmppClient | undefined;
let metrics: ThreadMetrics | undefined;
afterEach(async () => {
  acs?.close();
  acs = undefined;
  await h?.stop();
  h = undefined;
  await server?.stop();
  server = undefined;
  metrics?.close();
  metrics = undefined;
});

const ACS = { username: 'acs', password: 'acs-secret' };
const INTRUDER = { username: 'intruder', password: 'intruder-secret' };
const cpeAccount = (i: number) => ({ username: `cs${String(i).padStart(8, '0')}`, password: `xmpp-pw-${i}` });

function xmppInit(p: Prosody, o: Partial<XmppInit> = {}): XmppInit {
  return { server: { host: p.host, port: p.port }, domain: p.domain, username: '{serial}', password: 'xmpp-pw-{index}', allowedJids: `${ACS.username}@${p.domain}`, useTls: false, ca: undefined, ...o };
}

/** Log in as `who` (the ACS side) and resolve once bound. */
function login(p: Prosody, who: { username: string; password: string }, o: { useTls?: boolean; ca?: string } = {}): Promise<XmppClient> {
  return new Promise((resolve, reject) => {
    const c: XmppClient = new XmppClient(
      { host: p.host, port: p.port, domain: p.domain, username: who.username, password: who.password, resource: 'acs', useTls: o.useTls ?? false, ca: o.ca, timeoutMs: 10_000 },
      { onUp: () => resolve(c), onDown: (reason) => reject(new Error(`${who.username} could not log in: ${reason}\n${p.log()}`)), onStanza: () => false },
    );
    c.connect();
  });
}

const crPayload = (username: string, password: string) =>
  `<connectionRequest xmlns='${NS_CONNREQ}'><username>${escapeXml(username)}</username><password>${escapeXml(password)}</password></connectionRequest>`;

function crCreds(h: Harness, l = 0) {
  const v = h.shard.view(l);
  return { user: v.get('Device.ManagementServer.ConnectionRequestUsername')!, pass: v.get('Device.ManagementServer.ConnectionRequestPassword')! };
}

const jidOf = (h: Harness, l = 0) => h.shard.view(l).get('Device.ManagementServer.ConnReqJabberID') ?? '';

/** Boot every CPE, let the bootstrap sessions end and wait until each has logged in to the XMPP server. */
async function bootedAndOnline(h: Harness, cpes: number): Promise<void> {
  h.tick();
  await h.acs.waitFor(() => h.acs.sessions.filter((s) => s.ended).length >= cpes, 10_000, 'bootstrap sessions');
  await until(() => Array.from({ length: cpes }, (_, l) => l).every((l) => h.shard.xmpp?.isUp(l) === true), 10_000, 'XMPP logins');
}

function errorType(iq: XmlEl): string | undefined {
  return child(iq, 'error')?.attrs['type'];
}

describe('XMPP connection requests (TR-069 Annex K) against prosody', () => {
  it('logs each CPE in with its own JID, publishes it as ConnReqJabberID (a 4 VALUE CHANGE), and turns an allowed, correct connectionRequest into an iq result and a 6 CONNECTION REQUEST session', async () => {
    server = await startProsody({ accounts: [ACS, cpeAccount(0), cpeAccount(1)] });
    metrics = new ThreadMetrics();
    h = await startHarness({ cpes: 2, xmpp: xmppInit(server) });
    await bootedAndOnline(h, 2);
    for (const l of [0, 1]) {
      const v = h.shard.view(l);
      expect(jidOf(h, l)).toBe(`cs0000000${l}@localhost/cwmp`);
      expect(v.get('Device.XMPP.Connection.1.JabberID')).toBe(jidOf(h, l));
      expect(v.get('Device.XMPP.Connection.1.Status')).toBe('Enabled');
      expect(v.get('Device.XMPP.Connection.1.TLSEstablished')).toBe('false');
      expect(v.get('Device.ManagementServer.ConnReqAllowedJabberIDs')).toBe('acs@localhost');
    }
    expect(await metricValue(metrics, 'cpe_sim_xmpp_logins_total', { tls: 'false' })).toBe(2);
    // ConnReqJabberID is active-notified by default: the new JID goes to the ACS on its own.
    await h.acs.waitFor(() => h!.acs.sessions.some((s) => s.ended && eventCodes(s).includes('4 VALUE CHANGE') && s.inform.deviceId.serialNumber === 'CS00000000'), 10_000, 'value change session');
    const vc = h.acs.sessions.find((s) => eventCodes(s).includes('4 VALUE CHANGE') && s.inform.deviceId.serialNumber === 'CS00000000')!;
    expect(vc.inform.params).toContainEqual(expect.objectContaining({ name: 'Device.ManagementServer.ConnReqJabberID', value: 'cs00000000@localhost/cwmp' }));
    await settle(h);

    acs = await login(server, ACS);
    const before = h.acs.sessions.length;
    const c = crCreds(h, 0);
    const answer = await acs.request(jidOf(h, 0), 'get', crPayload(c.user, c.pass), 5000);
    expect(answer.attrs['type']).toBe('result');
    expect(answer.attrs['from']).toBe(jidOf(h, 0));
    expect(answer.children).toEqual([]);
    await h.acs.waitFor(() => h!.acs.sessions.length > before && h!.acs.sessions.at(-1)!.ended, 10_000, 'CR session');
    const s = h.acs.sessions.at(-1)!;
    expect(s.inform.deviceId.serialNumber).toBe('CS00000000');
    expect(eventCodes(s)).toEqual(['6 CONNECTION REQUEST']);
    await settle(h);
    expect(h.acs.sessions).toHaveLength(before + 1);
    expect(await metricValue(metrics, 'cpe_sim_xmpp_connection_requests_total', { result: 'accepted' })).toBe(1);
  });

  it('answers a wrong password with an iq error <not-authorized/> (type cancel) carrying the request back, and starts no session', async () => {
    server = await startProsody({ accounts: [ACS, cpeAccount(0)] });
    metrics = new ThreadMetrics();
    h = await startHarness({ xmpp: xmppInit(server) });
    await bootedAndOnline(h, 1);
    await settle(h);
    acs = await login(server, ACS);
    const before = h.acs.sessions.length;
    const c = crCreds(h);
    for (const [user, pass] of [
      [c.user, 'wrong'],
      ['someone-else', c.pass],
      ['', ''],
    ] as const) {
      const answer = await acs.request(jidOf(h), 'get', crPayload(user, pass), 5000);
      expect(answer.attrs['type']).toBe('error');
      expect(errorCondition(answer)).toBe('not-authorized');
      expect(errorType(answer)).toBe('cancel');
      expect(child(answer, 'error')!.children[0]!.attrs['xmlns']).toBe(NS_STANZAS);
      expect(child(child(answer, 'connectionRequest', NS_CONNREQ)!, 'username')?.text ?? '').toBe(user);
    }
    await settle(h);
    expect(h.acs.sessions).toHaveLength(before);
    expect(await metricValue(metrics, 'cpe_sim_xmpp_connection_requests_total', { result: 'not-authorized' })).toBe(3);
    expect(await metricValue(metrics, 'cpe_sim_xmpp_connection_requests_total', { result: 'accepted' })).toBe(0);
  });

  it('answers a sender not in ConnReqAllowedJabberIDs with <service-unavailable/> (type cancel), even with the right credentials, and starts no session', async () => {
    server = await startProsody({ accounts: [ACS, INTRUDER, cpeAccount(0)] });
    metrics = new ThreadMetrics();
    h = await startHarness({ xmpp: xmppInit(server) });
    await bootedAndOnline(h, 1);
    await settle(h);
    acs = await login(server, INTRUDER);
    const before = h.acs.sessions.length;
    const c = crCreds(h);
    const answer = await acs.request(jidOf(h), 'get', crPayload(c.user, c.pass), 5000);
    expect(answer.attrs['type']).toBe('error');
    expect(errorCondition(answer)).toBe('service-unavailable');
    expect(errorType(answer)).toBe('cancel');
    await settle(h);
    expect(h.acs.sessions).toHaveLength(before);
    expect(await metricValue(metrics, 'cpe_sim_xmpp_connection_requests_total', { result: 'service-unavailable' })).toBe(1);
    // An iq in a namespace the CPE does not serve is refused the RFC 6120 8.4 way.
    const other = await acs.request(jidOf(h), 'get', "<query xmlns='jabber:iq:version'/>", 5000);
    expect(other.attrs['type']).toBe('error');
    expect(errorCondition(other)).toBe('service-unavailable');
  });

  it('takes a connection request from anyone when ConnReqAllowedJabberIDs is empty, over STARTTLS the server requires (then SASL PLAIN, the one mechanism offered)', async () => {
    server = await startProsody({ accounts: [INTRUDER, cpeAccount(0)], tls: { certFile: fixture('tls/server.pem'), keyFile: fixture('tls/server-key.pem') }, requireTls: true, noScram: true });
    metrics = new ThreadMetrics();
    const { readFileSync } = await import('node:fs');
    const ca = readFileSync(fixture('tls/ca.pem'), 'utf8');
    h = await startHarness({ xmpp: xmppInit(server, { allowedJids: '', ca }) });
    await bootedAndOnline(h, 1);
    expect(h.shard.view(0).get('Device.XMPP.Connection.1.TLSEstablished')).toBe('true');
    expect(await metricValue(metrics, 'cpe_sim_xmpp_logins_total', { tls: 'true' })).toBe(1);
    await settle(h);
    acs = await login(server, INTRUDER, { ca });
    expect(acs.secure).toBe(true);
    const before = h.acs.sessions.length;
    const c = crCreds(h);
    const answer = await acs.request(jidOf(h), 'get', crPayload(c.user, c.pass), 5000);
    expect(answer.attrs['type']).toBe('result');
    await h.acs.waitFor(() => h!.acs.sessions.length > before && h!.acs.sessions.at(-1)!.ended, 10_000, 'CR session');
    expect(eventCodes(h.acs.sessions.at(-1)!)).toEqual(['6 CONNECTION REQUEST']);
  });

  it('shows a refused login as Error_AuthenticationFailure and retries in the ServerRetry window', async () => {
    server = await startProsody({ accounts: [{ username: 'cs00000000', password: 'another-password' }] });
    metrics = new ThreadMetrics();
    h = await startHarness({ xmpp: xmppInit(server), random: () => 0 });
    h.tick();
    await until(() => h!.shard.view(0).get('Device.XMPP.Connection.1.Status') === 'Error_AuthenticationFailure', 10_000, 'auth failure');
    expect(await metricValue(metrics, 'cpe_sim_xmpp_connection_failures_total', { reason: 'auth' })).toBe(1);
    expect(jidOf(h)).toBe('');
    // random 0: the first retry lands at the start of its window, ServerRetryInitialInterval (60 s) on.
    h.tick(59_999);
    await settle(h);
    expect(await metricValue(metrics, 'cpe_sim_xmpp_connection_failures_total', { reason: 'auth' })).toBe(1);
    h.tick(1);
    expect(h.shard.xmpp!.countsByState().connecting).toBe(1);
    await until(() => h!.shard.xmpp!.countsByState().backoff === 1, 10_000, 'second attempt to fail');
    expect(await metricValue(metrics, 'cpe_sim_xmpp_connection_failures_total', { reason: 'auth' })).toBe(2);
  });

  it('reconnects after the server restarts, and answers connection requests again', async () => {
    server = await startProsody({ accounts: [ACS, cpeAccount(0)] });
    metrics = new ThreadMetrics();
    h = await startHarness({ xmpp: xmppInit(server), random: () => 0 });
    await bootedAndOnline(h, 1);
    await settle(h);
    await server.restart();
    await until(() => h!.shard.xmpp!.isUp(0) === false, 10_000, 'the CPE to see the server go');
    expect(await metricValue(metrics, 'cpe_sim_xmpp_connection_failures_total', { reason: 'closed' })).toBe(1);
    // The reconnect waits on the (fake) clock: move it on through the retry windows until logged in again.
    const deadline = Date.now() + 20_000;
    while (!h.shard.xmpp!.isUp(0)) {
      if (Date.now() > deadline) throw new Error(`no reconnect: ${h.shard.view(0).get('Device.XMPP.Connection.1.Status')}\n${server.log()}`);
      if (h.shard.xmpp!.countsByState().backoff === 1) h.tick(60_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await metricValue(metrics, 'cpe_sim_xmpp_logins_total', { tls: 'false' })).toBe(2);
    expect(jidOf(h)).toBe('cs00000000@localhost/cwmp');
    await settle(h);
    acs = await login(server, ACS);
    const before = h.acs.sessions.length;
    const c = crCreds(h);
    const answer = await acs.request(jidOf(h), 'get', crPayload(c.user, c.pass), 5000);
    expect(answer.attrs['type']).toBe('result');
    await h.acs.waitFor(() => h!.acs.sessions.length > before && h!.acs.sessions.at(-1)!.ended, 10_000, 'CR session');
    expect(eventCodes(h.acs.sessions.at(-1)!)).toEqual(['6 CONNECTION REQUEST']);
  });
});
