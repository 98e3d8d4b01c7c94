// UDP connection requests (TR-069 Annex G) with STUN (TR-111 part 2), against coturn as
// the STUN server (started here on a free loopback port) and a sender byte-compatible
// with GenieACS's (test/helpers/udp-cr-sender.ts), over the shard's one real UDP socket.
import diagnostics_channel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from '@jest/globals';
import { stunChannel, udpCrChannel, type StunEvent, type UdpCrEvent } from '../src/cwmp/diagnostics.js';
import { bindingRequest, CONNECTION_REQUEST_BINDING_VALUE, parseStunAnswer, TransactionIds } from '../src/cwmp/stun.js';
import { parseUdpConnectionRequest } from '../src/cwmp/udp-cr.js';
import type { Inform } from '../src/cwmp/types.js';
import { startCoturn, type Coturn } from './helpers/coturn.js';
import { loadConfig } from '../src/config/load.js';
import { startFleet, type Fleet } from '../src/coordinator/fleet.js';
import { createLogger } from '../src/log.js';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { atBootstrap, eventCodes, exampleProfile, spv, startHarness, until, type Harness } from './helpers/harness.js';
import { sample, scrapeUntil } from './helpers/scrape.js';
import { settle } from './helpers/settle.js';
import { freshFields, sendUdpCr, udpCrMessage } from './helpers/udp-cr-sender.js';

const MS = 'Device.ManagementServer.';
let h: Harness | undefined;
let coturn: Coturn | undefined;
const unsubscribe: Array<() => void> = [];

afterEach(async () => {
  for (const u of unsubscribe.splice(0)) u();
  await h?.stop();
  h = undefined;
  await coturn?.stop();
  coturn = undefined;
});

/** Counts of what the CPEs' UDP endpoint published on its diagnostics channels, from now on. */
function counting(): { udp: Record<string, number>; stun: Record<string, number> } {
  const counts = { udp: {} as Record<string, number>, stun: {} as Record<string, number> };
  const onUdp = (m: unknown) => {
    const r = (m as UdpCrEvent).result;
    counts.udp[r] = (counts.udp[r] ?? 0) + 1;
  };
  const onStun = (m: unknown) => {
    const r = (m as StunEvent).result;
    counts.stun[r] = (counts.stun[r] ?? 0) + 1;
  };
  diagnostics_channel.subscribe(udpCrChannel.name, onUdp);
  diagnostics_channel.subscribe(stunChannel.name, onStun);
  unsubscribe.push(() => diagnostics_channel.unsubscribe(udpCrChannel.name, onUdp), () => diagnostics_channel.unsubscribe(stunChannel.name, onStun));
  return counts;
}

const param = (i: Inform, name: string) => i.params.find((p) => p.name === name);
const udpInit = (stunPort: number) => ({ host: '127.0.0.1', port: 0, advertiseHost: '127.0.0.1', stunServer: { host: '127.0.0.1', port: stunPort } });

/** The Inform of CPE `serial` that carried its UDPConnectionRequestAddress with 4 VALUE CHANGE. */
async function publishedAddress(h: Harness, serial: string): Promise<string> {
  let found: string | undefined;
  await h.acs.waitFor(
    () => {
      const s = h.acs.sessions.find((x) => x.inform.deviceId.serialNumber === serial && eventCodes(x).includes('4 VALUE CHANGE') && param(x.inform, `${MS}UDPConnectionRequestAddress`));
      found = s ? param(s.inform, `${MS}UDPConnectionRequestAddress`)!.value : undefined;
      return found !== undefined;
    },
    10_000,
    `VALUE CHANGE Inform with UDPConnectionRequestAddress from ${serial}`,
  );
  return found!;
}

describe('STUN binding (TR-111 part 2) against coturn', () => {
  it('sends a Binding Request with CONNECTION-REQUEST-BINDING (and BINDING-CHANGE when asked) that coturn answers with the mapped address', async () => {
    coturn = await startCoturn();
    const tid = Buffer.alloc(12, 7);
    const plain = bindingRequest({ transactionId: tid, bindingChange: false });
    const changed = bindingRequest({ transactionId: tid, bindingChange: true, username: 'stun-user' });
    // Header: Binding Request, body length, magic cookie, transaction id.
    expect(plain.subarray(0, 8).toString('hex')).toBe('000100182112a442');
    // 0xC001 with the 20-byte TR-111 value; BINDING-CHANGE 0xC002 is empty; then USERNAME.
    expect(plain.subarray(20).toString('hex')).toBe(`c0010014${Buffer.from(CONNECTION_REQUEST_BINDING_VALUE).toString('hex')}`);
    expect(changed.subarray(44, 48).toString('hex')).toBe('c0020000');
    expect(changed.subarray(48, 52).toString('hex')).toBe('00060009');
    // coturn answers both (comprehension-optional attributes are ignored by a plain STUN server).
    const dgram = await import('node:dgram');
    for (const msg of [plain, changed]) {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      const answer = new Promise<Buffer>((r) => s.once('message', (b) => r(b)));
      s.send(msg, coturn.port, '127.0.0.1');
      const a = parseStunAnswer(await answer);
      expect(a).toEqual({ kind: 'success', transactionId: tid, mapped: { address: '127.0.0.1', port: s.address().port } });
      s.close();
    }
  });
});

describe('STUN Binding Request bytes (RFC 5389 6 and 15, TR-111 part 2)', () => {
  /** The message laid out attribute by attribute, each padded to 4 bytes (RFC 5389 15). */
  function reference(tid: Buffer, change: boolean, username: string): Buffer {
    const attr = (type: number, value: Buffer) => {
      const head = Buffer.alloc(4);
      head.writeUInt16BE(type, 0);
      head.writeUInt16BE(value.length, 2);
      return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
    };
    const attrs = [attr(0xc001, Buffer.from('dslforum.org/TR-111 ', 'latin1'))];
    if (change) attrs.push(attr(0xc002, Buffer.alloc(0)));
    if (username) attrs.push(attr(0x0006, Buffer.from(username, 'utf8')));
    const body = Buffer.concat(attrs);
    const head = Buffer.alloc(20);
    head.writeUInt16BE(0x0001, 0);
    head.writeUInt16BE(body.length, 2);
    head.writeUInt32BE(0x2112a442, 4);
    tid.copy(head, 8);
    return Buffer.concat([head, body]);
  }

  it('lays out every combination of BINDING-CHANGE and USERNAME lengths 0 to 9 (UTF-8 included) byte for byte, padding zero', () => {
    const tid = Buffer.from('0102030405060708090a0b0c', 'hex');
    for (const change of [false, true]) {
      for (const username of ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'é', 'éé', 'user-名', 'stun-user']) {
        const got = bindingRequest({ transactionId: tid, bindingChange: change, ...(username ? { username } : {}) });
        expect(got.toString('hex')).toBe(reference(tid, change, username).toString('hex'));
        expect(got.length % 4).toBe(0);
      }
    }
    expect(() => bindingRequest({ transactionId: Buffer.alloc(11), bindingChange: false })).toThrow('12 bytes');
  });

  it('gives transaction ids of 12 bytes that never repeat or share bytes, across block boundaries', () => {
    const ids = new TransactionIds(4);
    const got = Array.from({ length: 25 }, () => ids.next());
    for (const t of got) expect(t.length).toBe(12);
    // Distinct values (96 random bits each), and no two views over the same bytes.
    expect(new Set(got.map((t) => t.toString('hex'))).size).toBe(25);
    for (let i = 0; i < got.length; i++) {
      for (let j = i + 1; j < got.length; j++) {
        if (got[i]!.buffer === got[j]!.buffer) expect(Math.abs(got[i]!.byteOffset - got[j]!.byteOffset)).toBeGreaterThanOrEqual(12);
      }
    }
    // Four ids per block here: blocks 1..7 are separate allocations.
    expect(new Set(got.map((t) => t.buffer)).size).toBe(7);
  });
});

describe('UDP connection requests (TR-069 Annex G) with STUN', () => {
  it('learns the mapped address from coturn and publishes it to the ACS with 4 VALUE CHANGE; NATDetected stays false on loopback', async () => {
    coturn = await startCoturn();
    const c = counting();
    h = await startHarness({ cpes: 2, udpCr: udpInit(coturn.port) });
    h.tick();
    const port = h.shard.udp!.port;
    expect(port).toBeGreaterThan(0);
    // One socket for the shard: both CPEs publish the same mapped address, told apart later by `un`.
    for (const l of [0, 1]) expect(await publishedAddress(h, h.shard.env.serial(l))).toBe(`127.0.0.1:${port}`);
    await until(() => (c.stun['new'] ?? 0) === 2, 10_000, 'two new bindings');
    const v = h.shard.view(0);
    expect([v.get(`${MS}STUNEnable`), v.get(`${MS}STUNServerAddress`), v.get(`${MS}STUNServerPort`), v.get(`${MS}NATDetected`)]).toEqual(['true', '127.0.0.1', String(coturn.port), 'false']);
    expect(v.get(`${MS}SupportedConnReqMethods`)).toBe('HTTP,STUN,XMPP');
    // The keepalive after STUNMinimumKeepAlivePeriod (30 s) confirms the same address: no new report.
    await settle(h);
    const sessions = h.acs.sessions.length;
    h.tick(30_000);
    await until(() => (c.stun['same'] ?? 0) === 2, 10_000, 'two keepalive answers');
    await settle(h);
    expect(h.acs.sessions.length).toBe(sessions);
  });

  it('a GenieACS-style UDP connection request with the right signature starts a 6 CONNECTION REQUEST session; wrong sig, stale ts, unknown un, garbage and replays do not', async () => {
    coturn = await startCoturn();
    const c = counting();
    h = await startHarness({ cpes: 2, udpCr: udpInit(coturn.port) });
    h.tick();
    const [host, portText] = (await publishedAddress(h, h.shard.env.serial(1))).split(':') as [string, string];
    const port = Number(portText);
    await settle(h);
    const before = h.acs.sessions.length;
    const v = h.shard.view(1);
    const un = v.get(`${MS}ConnectionRequestUsername`)!;
    const pw = v.get(`${MS}ConnectionRequestPassword`)!;
    const now = h.clock.now();

    // Each sent three times, as GenieACS does.
    await sendUdpCr(host, port, udpCrMessage(host, port, 'not-the-password', freshFields(un, now)));
    await sendUdpCr(host, port, udpCrMessage(host, port, pw, freshFields(un, now - 3600_000)));
    await sendUdpCr(host, port, udpCrMessage(host, port, pw, freshFields('nobody', now)));
    await sendUdpCr(host, port, Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await until(() => c.udp['bad-signature'] === 3 && c.udp['stale'] === 3 && c.udp['unknown-user'] === 3 && c.udp['malformed'] === 3, 10_000, 'the bad requests counted');
    await settle(h);
    expect(h.acs.sessions.length).toBe(before);

    const good = udpCrMessage(host, port, pw, freshFields(un, now));
    expect(parseUdpConnectionRequest(good)?.un).toBe(un);
    await sendUdpCr(host, port, good);
    await h.acs.waitFor(() => h!.acs.sessions.length > before && h!.acs.sessions.at(-1)!.ended, 10_000, 'UDP CR session');
    const s = h.acs.sessions.at(-1)!;
    expect(s.inform.deviceId.serialNumber).toBe(h.shard.env.serial(1));
    expect(eventCodes(s)).toEqual(['6 CONNECTION REQUEST']);
    expect(c.udp['accepted']).toBe(1);
    await until(() => c.udp['replay'] === 2, 10_000, 'the two copies counted as replays');

    // The same message again later: its id was seen.
    await sendUdpCr(host, port, good, 1);
    await until(() => c.udp['replay'] === 3, 10_000, 'the replay counted');
    await settle(h);
    expect(h.acs.sessions.length).toBe(before + 1);
    expect(c.udp['accepted']).toBe(1);
  });

  it('CPEs sharing one CR username (--cr-username admin): the signature picks the CPE; two that fit are refused as ambiguous', async () => {
    const c = counting();
    const noStun = { ...udpInit(0), stunServer: { host: '127.0.0.1', port: 9 } };
    h = await startHarness({ cpes: 3, udpCr: noStun, crCreds: { username: 'admin' } });
    h.tick();
    await settle(h);
    const port = h.shard.udp!.port;
    const pw = (l: number) => h!.shard.view(l).get(`${MS}ConnectionRequestPassword`)!;
    expect([0, 1, 2].map((l) => h!.shard.view(l).get(`${MS}ConnectionRequestUsername`))).toEqual(['admin', 'admin', 'admin']);
    expect(new Set([pw(0), pw(1), pw(2)]).size).toBe(3);
    const before = h.acs.sessions.length;
    await sendUdpCr('127.0.0.1', port, udpCrMessage('127.0.0.1', port, pw(2), freshFields('admin', h.clock.now())), 1);
    await h.acs.waitFor(() => h!.acs.sessions.length > before && h!.acs.sessions.at(-1)!.ended, 10_000, 'UDP CR session');
    expect(h.acs.sessions.slice(before).map((x) => [x.inform.deviceId.serialNumber, eventCodes(x)])).toEqual([[h.shard.env.serial(2), ['6 CONNECTION REQUEST']]]);
    await h.stop();

    h = await startHarness({ cpes: 2, udpCr: noStun, crCreds: { username: 'admin', password: 'shared' } });
    h.tick();
    await settle(h);
    const p2 = h.shard.udp!.port;
    const n = h.acs.sessions.length;
    await sendUdpCr('127.0.0.1', p2, udpCrMessage('127.0.0.1', p2, 'shared', freshFields('admin', h.clock.now())), 1);
    await until(() => c.udp['ambiguous'] === 1, 10_000, 'the ambiguous request counted');
    await settle(h);
    expect(h.acs.sessions.length).toBe(n);
  });

  it('obeys the ACS: a STUN server port set with SetParameterValues is used at once', async () => {
    coturn = await startCoturn();
    const c = counting();
    // --stun-server points at a port where nothing answers; the ACS puts the CPE on coturn.
    const dead = { ...udpInit(coturn.port), stunServer: { host: '127.0.0.1', port: 9 } };
    h = await startHarness({ udpCr: dead, acs: { script: atBootstrap(spv('stun', [`${MS}STUNServerPort`, String(coturn.port), 'unsignedInt'])) } });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions.some((s) => s.ended), 10_000, 'bootstrap session');
    expect(h.shard.view(0).get(`${MS}UDPConnectionRequestAddress`)).toBe('');
    // The write restarted the STUN client: its Binding Request is due now.
    h.tick();
    expect(await publishedAddress(h, h.shard.env.serial(0))).toBe(`127.0.0.1:${h.shard.udp!.port}`);
    expect(c.stun['new']).toBe(1);
  });

  it('STUNEnable false (set by the ACS) publishes the shard socket\'s own address and sends no Binding Request', async () => {
    coturn = await startCoturn();
    const c = counting();
    h = await startHarness({ udpCr: udpInit(coturn.port), acs: { script: atBootstrap(spv('stun-off', [`${MS}STUNEnable`, 'false', 'boolean'])) } });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions.some((s) => s.ended), 10_000, 'bootstrap session');
    await settle(h);
    const v = h.shard.view(0);
    expect([v.get(`${MS}STUNEnable`), v.get(`${MS}UDPConnectionRequestAddress`), v.get(`${MS}NATDetected`)]).toEqual(['false', `127.0.0.1:${h.shard.udp!.port}`, 'false']);
    // The restart after the write stopped the client: nothing in flight, nothing planned,
    // and past several keepalive periods still nothing.
    expect(h.shard.udp!.stunActive(0)).toBe(false);
    h.tick(120_000);
    await settle(h);
    expect(h.shard.udp!.stunActive(0)).toBe(false);
    expect(c.stun['same'] ?? 0).toBe(0);
  });
});

describe('a STUN server that never answers', () => {
  it('backs off: each failed transaction (4 sends over 7.5 s) doubles the wait before the next, from the keepalive period', async () => {
    const { createSocket } = await import('node:dgram');
    const dead = createSocket('udp4');
    const got: Buffer[] = [];
    dead.on('message', (m) => got.push(m));
    await new Promise<void>((resolve) => dead.bind(0, '127.0.0.1', resolve));
    try {
      const c = counting();
      h = await startHarness({ udpCr: { ...udpInit(0), stunServer: { host: '127.0.0.1', port: dead.address().port } } });
      const timeouts: number[] = [];
      const start = h.clock.now();
      const onStun = (m: unknown) => void ((m as StunEvent).result === 'timeout' && timeouts.push((h!.clock.now() - start) / 1000));
      diagnostics_channel.subscribe(stunChannel.name, onStun);
      unsubscribe.push(() => diagnostics_channel.unsubscribe(stunChannel.name, onStun));
      for (let t = 0; t < 449_000; t += 500) h.tick(500);
      // Transactions start at 0, 7.5 + 60, 75 + 120 and 202.5 + 240 s: a keepalive of 30 s
      // without backoff would have timed out a dozen times by now.
      expect(timeouts).toEqual([7.5, 75, 202.5]);
      expect(c.stun['timeout']).toBe(3);
      // ... and the fourth began at 442.5 s: 3 x 4 sends and its first one reached the server.
      await until(() => got.length >= 13, 10_000, 'the Binding Requests of four transactions at the dead server');
      expect(new Set(got.map((m) => m.subarray(8, 20).toString('hex'))).size).toBe(4);
    } finally {
      dead.close();
    }
  });
});

describe('a fleet on two worker-thread shards with --stun-server', () => {
  it('opens one UDP socket per shard: every CPE of a shard publishes its shard\'s address, a UDP CR reaches the CPE named by un, and the metrics count it', async () => {
    coturn = await startCoturn();
    const acs = new MockAcs();
    await acs.listen();
    const cpes = 12;
    const cfg = loadConfig({
      flags: {
        profile: exampleProfile,
        acsUrl: acs.url,
        cpes: String(cpes),
        shards: '2',
        bootRamp: '0',
        crBindAddr: '127.0.0.1:0',
        crPassword: 'pw-{index}',
        stunServer: `127.0.0.1:${coturn.port}`,
        metricsBindAddr: '127.0.0.1:0',
        logLevel: 'silent',
      },
      env: {},
    });
    const fleet: Fleet = await startFleet(cfg, createLogger('silent', 'json'));
    try {
      const byCpe = new Map<string, string>();
      await acs.waitFor(
        () => {
          for (const s of acs.sessions) {
            const p = param(s.inform, `${MS}UDPConnectionRequestAddress`);
            if (p && p.value !== '') byCpe.set(s.inform.deviceId.serialNumber, p.value);
          }
          return byCpe.size === cpes;
        },
        20_000,
        'every CPE\'s UDPConnectionRequestAddress',
      );
      // Two shards, two sockets, two addresses: CPEs 0-5 share one, 6-11 the other.
      const serial = (i: number) => `CS${String(i).padStart(8, '0')}`;
      expect(new Set(byCpe.values()).size).toBe(2);
      for (let i = 1; i < 6; i++) expect(byCpe.get(serial(i))).toBe(byCpe.get(serial(0)));
      for (let i = 7; i < cpes; i++) expect(byCpe.get(serial(i))).toBe(byCpe.get(serial(6)));

      const target = 9;
      const [host, portText] = byCpe.get(serial(target))!.split(':') as [string, string];
      const before = acs.sessions.length;
      await sendUdpCr(host, Number(portText), udpCrMessage(host, Number(portText), `pw-${target}`, freshFields(serial(target), Date.now())));
      await acs.waitFor(() => acs.sessions.slice(before).some((s) => s.inform.deviceId.serialNumber === serial(target) && eventCodes(s).includes('6 CONNECTION REQUEST')), 10_000, 'the UDP CR session');
      const text = await scrapeUntil(fleet.admin!.port, (t) => sample(t, 'cpe_sim_udp_connection_requests_total{result="replay"}') === 2 && sample(t, 'cpe_sim_stun_bindings_total{result="new"}') === cpes);
      expect(sample(text, 'cpe_sim_udp_connection_requests_total{result="accepted"}')).toBe(1);
      expect(sample(text, 'cpe_sim_stun_bindings_total{result="new"}')).toBe(cpes);
    } finally {
      await fleet.stop();
      await acs.close();
    }
  });
});
