// The MQTT MTP of a USP agent (src/usp/mtp/mqtt.ts, TR-369 "MQTT Binding") over real sockets.
// One suite runs against the embedded aedes broker (MQTT 3.1.1) and mosquitto (MQTT 3.1.1
// and 5); what no real broker shows (the v5 CONNECT properties, CONNACK Response
// Information and subscribe-topic, refused subscriptions, a silent broker) is pinned
// against a scripted broker built on mqtt-packet (mqtt's own packet codec).
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generate, parser, type IConnackPacket, type Packet } from 'mqtt-packet';
import { startEmbeddedBroker } from '../src/broker/embedded.js';
import { decodeMsg, decodeRecord, encodeMsg, encodeRecord, type UspRecord } from '../src/usp/codec.js';
import { MqttMtp, replyToOf, topicWithReplyTo, type MqttMtpEvents, type MqttMtpOptions, type MqttMtpUpInfo } from '../src/usp/mtp/mqtt.js';
import { fixture, until } from './helpers/harness.js';
import { startMosquitto } from './helpers/mosquitto.js';
import { TestController, type AgentAddress } from './helpers/usp-controller.js';

const HOST = '127.0.0.1';

// ---- an MqttMtp with its events recorded ---------------------------------------------------

interface Agent {
  mtp: MqttMtp;
  address: AgentAddress;
  ups: MqttMtpUpInfo[];
  downs: string[];
  records: { payload: Uint8Array; replyTo: string | undefined }[];
  waitUp(n?: number): Promise<MqttMtpUpInfo>;
  waitDown(n?: number): Promise<string>;
  /**
   * Every attempt that is over has wound down: its socket closed, so no late event of it
   * can still report anything.
   */
  settled(): Promise<void>;
}

/** One connect() of an agent: whether its socket has closed. */
interface Attempt {
  closed: boolean;
}

/** Watch the current attempt's socket (private to MqttMtp: read here only to see it wind down). */
function watchAttempt(mtp: MqttMtp): Attempt {
  const sock = (mtp as unknown as { sock: Socket }).sock;
  const attempt: Attempt = { closed: false };
  sock.once('close', () => (attempt.closed = true));
  return attempt;
}

let agentSeq = 0;
function makeAgent(url: string, protocolVersion: 4 | 5, over: Partial<MqttMtpOptions> = {}): Agent {
  const endpointId = `os::0C5A9E-CS${String(++agentSeq).padStart(8, '0')}`;
  const address = { endpointId, topic: `/usp/agent/${endpointId}` };
  const ups: MqttMtpUpInfo[] = [];
  const downs: string[] = [];
  const records: Agent['records'] = [];
  const events: MqttMtpEvents = {
    onUp: (info) => ups.push(info),
    onDown: (reason) => downs.push(reason),
    // The payload is a view into the socket's chunk: keep a copy.
    onRecord: (payload, replyTo) => records.push({ payload: new Uint8Array(payload), replyTo }),
  };
  const mtp = new MqttMtp(
    { url, protocolVersion, clientId: '', endpointId, keepaliveSec: 30, subscribeTopic: address.topic, connectTimeoutMs: 3000, ...over },
    events,
  );
  const attempts: Attempt[] = [];
  const connect = mtp.connect.bind(mtp);
  mtp.connect = () => {
    connect();
    attempts.push(watchAttempt(mtp));
  };
  return {
    mtp, address, ups, downs, records,
    async waitUp(n = 1) {
      const downsBefore = downs.length;
      await until(() => ups.length >= n || downs.length > downsBefore, 5000, `onUp #${n}`);
      if (ups.length < n) throw new Error(`onDown instead of onUp: ${downs.slice(downsBefore).join('; ')}`);
      return ups[n - 1]!;
    },
    async waitDown(n = 1) {
      await until(() => downs.length >= n, 5000, `onDown #${n}`);
      return downs[n - 1]!;
    },
    async settled() {
      const over = (x: Attempt) => x.closed;
      await until(
        () => mtp.state !== 'connecting' && attempts.every((x, i) => over(x) || (mtp.state === 'up' && i === attempts.length - 1)),
        5000,
        'every finished MQTT attempt\'s socket to close',
      );
      await new Promise((r) => setImmediate(r));
    },
  };
}

const recordTo = (agent: AgentAddress, from: string, body: Record<string, unknown>, msgId: string): Uint8Array =>
  encodeRecord({ version: '1.3', to_id: agent.endpointId, from_id: from, record_type: 'no_session_context', no_session_context: { payload: encodeMsg({ header: { msg_id: msgId }, body }) } });

function decodedMsgId(payload: Uint8Array): string {
  const rec = decodeRecord(payload);
  if (!rec.ok || rec.value.record_type !== 'no_session_context') throw new Error('not a no_session_context Record');
  const msg = decodeMsg(rec.value.no_session_context.payload);
  if (!msg.ok) throw new Error(msg.error.message);
  return msg.value.header.msg_id;
}

// ---- 3.1.1 reply-to helpers ------------------------------------------------------------------

describe('3.1.1 reply-to in the topic (TR-369 R-MQTT.24, R-MQTT.25)', () => {
  it('topicWithReplyTo percent-encodes every "/" of the own topic', () => {
    expect(topicWithReplyTo('usp/agents/x', 'usp/controllers/y')).toBe('usp/agents/x/reply-to=usp%2Fcontrollers%2Fy');
    expect(topicWithReplyTo('/usp/controller', '/usp/agent/os::0C5A9E-CS00000001')).toBe(
      '/usp/controller/reply-to=%2Fusp%2Fagent%2Fos::0C5A9E-CS00000001',
    );
  });

  it('replyToOf takes the text after the last "/reply-to=" and decodes %2F', () => {
    expect(replyToOf('usp/agents/x/reply-to=usp%2Fcontrollers%2Fy')).toBe('usp/controllers/y');
    expect(replyToOf('a/reply-to=b%2Fc/reply-to=%2Fd%2fe')).toBe('/d/e');
    expect(replyToOf('/usp/agent/x')).toBeUndefined();
    expect(replyToOf('/usp/agent/x/reply-to=')).toBe('');
  });

  it('round-trips', () => {
    for (const own of ['/usp/controller', 'a', 'a/b/c/', '/x/reply-to=y']) {
      expect(replyToOf(topicWithReplyTo('/dest/topic', own))).toBe(own);
    }
  });
});

// ---- one suite, several brokers --------------------------------------------------------------

interface TestBroker {
  url: string;
  /** Broker gone: the listener is closed and every connection dropped. */
  stop(): Promise<void>;
  /** Back on the same port. */
  start(): Promise<void>;
  /** Final teardown. */
  close(): Promise<void>;
}

async function aedesBroker(): Promise<TestBroker> {
  let b = await startEmbeddedBroker({ host: HOST, port: 0 });
  const port = b.port;
  let running = true;
  return {
    url: b.url,
    async stop() {
      running = false;
      await b.close();
    },
    async start() {
      b = await startEmbeddedBroker({ host: HOST, port });
      running = true;
    },
    async close() {
      if (running) await b.close();
    },
  };
}

async function mosquittoBroker(): Promise<TestBroker> {
  const m = await startMosquitto();
  return { url: m.url, stop: () => m.stop(), start: () => m.restart(), close: () => m.stop() };
}

const transports: { name: string; version: 4 | 5; start: () => Promise<TestBroker> }[] = [
  { name: 'aedes, MQTT 3.1.1', version: 4, start: aedesBroker },
  { name: 'mosquitto, MQTT 3.1.1', version: 4, start: mosquittoBroker },
  { name: 'mosquitto, MQTT 5', version: 5, start: mosquittoBroker },
];

describe.each(transports)('MqttMtp over $name', ({ version, start }) => {
  let broker: TestBroker;
  let ctl: TestController;

  beforeAll(async () => {
    broker = await start();
    ctl = await TestController.start({ url: broker.url, protocolVersion: version });
  });
  afterAll(async () => {
    await ctl?.stop();
    await broker?.close();
  });

  it('reports onUp only once subscribed: a Record published right after arrives', async () => {
    const a = makeAgent(broker.url, version);
    expect(a.mtp.state).toBe('idle');
    a.mtp.connect();
    expect(a.mtp.state).toBe('connecting');
    expect(() => a.mtp.connect()).toThrow(/connect\(\) in state connecting/);
    const info = await a.waitUp();
    expect(info).toEqual({ replyTopic: a.address.topic, discovered: false, source: 'configured' });
    expect(a.mtp.state).toBe('up');
    expect(a.mtp.replyTopic).toBe(a.address.topic);

    await ctl.sendMsg(a.address, { header: { msg_id: 'get-1' }, body: { request: { get: { param_paths: ['Device.DeviceInfo.'] } } } });
    await until(() => a.records.length >= 1, 5000, 'the Record at the agent');
    expect(decodedMsgId(a.records[0]!.payload)).toBe('get-1');
    // The controller's reply-to, decoded from the Response Topic (v5) or the topic suffix (3.1.1).
    expect(a.records[0]!.replyTo).toBe(ctl.topic);
    // A second Record behind it: once that is here, a second copy of the first would be too.
    await ctl.sendMsg(a.address, { header: { msg_id: 'get-2' }, body: { request: { get: { param_paths: ['Device.DeviceInfo.'] } } } });
    await until(() => a.records.some((r) => decodedMsgId(r.payload) === 'get-2'), 5000, 'the second Record at the agent');
    expect(a.records.filter((r) => decodedMsgId(r.payload) === 'get-1')).toHaveLength(1); // `<topic>` and `<topic>/#` overlap: still delivered once
    expect(a.records.map((r) => decodedMsgId(r.payload))).toEqual(['get-1', 'get-2']);
    await a.mtp.close();
    await a.settled();
    expect(a.downs).toEqual([]);
  });

  it('publishes with its reply-to: v5 Content Type + Response Topic, 3.1.1 topic suffix', async () => {
    const a = makeAgent(broker.url, version);
    a.mtp.connect();
    await a.waitUp();
    for (const qos of [0, 1] as const) {
      await a.mtp.publish(ctl.topic, recordTo({ endpointId: ctl.endpointId, topic: ctl.topic }, a.address.endpointId, { request: { get: { param_paths: ['Device.'] } } }, `n-${qos}`), qos);
    }
    const got = await ctl.waitFor((r) => r.record.from_id === a.address.endpointId && r.msg?.header.msg_id === 'n-1', 3000, 'the agent Record');
    expect(got.replyTo).toBe(a.address.topic);
    if (version === 5) {
      expect(got.topic).toBe(ctl.topic);
      expect(got.contentType).toBe('usp.msg');
    } else {
      expect(got.topic).toBe(topicWithReplyTo(ctl.topic, a.address.topic));
    }
    await ctl.waitFor((r) => r.record.from_id === a.address.endpointId && r.msg?.header.msg_id === 'n-0', 3000, 'the QoS 0 Record');
    await a.mtp.close();
  });

  it('answers a controller request on the received reply-to (request/response round trip)', async () => {
    const a = makeAgent(broker.url, version);
    // A minimal agent: answer every Get with an empty GetResp, to the topic it came from.
    const answered: Promise<void>[] = [];
    a.mtp.connect();
    await a.waitUp();
    const seen = a.records.length;
    const pending = ctl.request(a.address, { request: { get: { param_paths: ['Device.'] } } }, { msgId: 'rt-1', timeoutMs: 3000 });
    await until(() => a.records.length > seen, 5000, 'the request at the agent');
    const { payload, replyTo } = a.records[seen]!;
    answered.push(
      a.mtp.publish(replyTo!, recordTo({ endpointId: ctl.endpointId, topic: replyTo! }, a.address.endpointId, { response: { get_resp: { req_path_results: [] } } }, decodedMsgId(payload)), 1),
    );
    await Promise.all(answered);
    const resp = await pending;
    expect(resp.header).toEqual({ msg_id: 'rt-1', msg_type: 'GET_RESP' });
    await a.mtp.close();
  });

  it('close() publishes the final Record, then disconnects, with no onDown', async () => {
    const a = makeAgent(broker.url, version);
    a.mtp.connect();
    await a.waitUp();
    const disconnect = encodeRecord({
      version: '1.3', to_id: ctl.endpointId, from_id: a.address.endpointId,
      record_type: 'disconnect', disconnect: { reason: 'shutdown', reason_code: 0 },
    });
    await a.mtp.close({ topic: ctl.topic, payload: disconnect });
    expect(a.mtp.state).toBe('closed');
    await a.settled();
    const got = await ctl.waitFor((r) => r.record.from_id === a.address.endpointId && r.record.record_type === 'disconnect', 3000, 'the disconnect Record');
    expect((got.record as UspRecord & { record_type: 'disconnect' }).disconnect.reason).toBe('shutdown');
    expect(a.downs).toEqual([]);
    await expect(a.mtp.publish(ctl.topic, disconnect)).rejects.toThrow(/state closed/);
    expect(() => a.mtp.connect()).toThrow(/state closed/);
    await a.mtp.close(); // idempotent
  });

  it('broker gone: onDown exactly once, refused attempts once each, connect() again after the restart', async () => {
    const a = makeAgent(broker.url, version);
    a.mtp.connect();
    await a.waitUp();
    await ctl.stop();
    await broker.stop();
    const reason = await a.waitDown(1);
    expect(reason).toMatch(/closed|ECONNRESET|DISCONNECT/);
    expect(a.mtp.state).toBe('down');
    await expect(a.mtp.publish('/x', new Uint8Array(1))).rejects.toThrow(/state down/);

    a.mtp.connect(); // the caller's backoff fired while the broker is still away
    expect(await a.waitDown(2)).toMatch(/ECONNREFUSED/);
    await a.settled();
    expect(a.downs).toHaveLength(2);

    await broker.start();
    ctl = await TestController.start({ url: broker.url, protocolVersion: version });
    a.mtp.connect();
    await a.waitUp(2);
    expect(a.downs).toHaveLength(2);
    const req = ctl.request(a.address, { request: { get: { param_paths: ['Device.'] } } }, { msgId: 'after-restart', timeoutMs: 3000 });
    await until(() => a.records.length > 0, 5000, 'a Record after the restart');
    const { payload, replyTo } = a.records.at(-1)!;
    await a.mtp.publish(replyTo!, recordTo({ endpointId: ctl.endpointId, topic: replyTo! }, a.address.endpointId, { response: { get_resp: {} } }, decodedMsgId(payload)));
    expect((await req).header.msg_id).toBe('after-restart');
    await a.mtp.close();
  });

  it('a second connection with the same ClientID takes over: the first gets onDown once', async () => {
    const clientId = `dup-${version}-${agentSeq}`;
    const a = makeAgent(broker.url, version, { clientId });
    const b = makeAgent(broker.url, version, { clientId });
    a.mtp.connect();
    await a.waitUp();
    b.mtp.connect();
    await b.waitUp();
    const reason = await a.waitDown();
    // mosquitto 2.0.11 just closes the socket (no v5 DISCONNECT 0x8E); aedes too.
    expect(reason).toMatch(/closed by broker|DISCONNECT/);
    await a.settled();
    // A Record through b's connection: the broker is done with the takeover once it is delivered.
    await ctl.sendMsg(b.address, { header: { msg_id: `after-takeover-${version}` }, body: { request: { get: { param_paths: ['Device.'] } } } });
    await until(() => b.records.some((r) => decodedMsgId(r.payload) === `after-takeover-${version}`), 5000, 'a Record at the second connection');
    expect(a.downs).toHaveLength(1);
    expect(b.downs).toEqual([]);
    await Promise.all([a.mtp.close(), b.mtp.close()]);
  });
});

// ---- MQTT 5 content types against mosquitto ----------------------------------------------------

describe('MqttMtp, MQTT 5 Content Type on receipt (mosquitto)', () => {
  let m: Awaited<ReturnType<typeof startMosquitto>>;
  let ctl: TestController;
  beforeAll(async () => {
    m = await startMosquitto();
    ctl = await TestController.start({ url: m.url, protocolVersion: 5 });
  });
  afterAll(async () => {
    await ctl?.stop();
    await m?.stop();
  });

  it('accepts usp.msg, application/vnd.bbf.usp.msg and none; drops anything else', async () => {
    const a = makeAgent(m.url, 5);
    a.mtp.connect();
    await a.waitUp();
    const send = (id: string, contentType?: string) =>
      ctl.sendRaw(a.address.topic, recordTo(a.address, ctl.endpointId, { request: { get: { param_paths: ['Device.'] } } }, id), {
        properties: contentType === undefined ? { responseTopic: ctl.topic } : { contentType, responseTopic: ctl.topic },
      });
    await send('ct-usp', 'usp.msg');
    await send('ct-bbf', 'application/vnd.bbf.usp.msg');
    await send('ct-json', 'application/json');
    await send('ct-none');
    // A last accepted one behind them: once it is here, ct-json would have been too.
    await send('ct-last', 'usp.msg');
    await until(() => a.records.some((r) => decodedMsgId(r.payload) === 'ct-last'), 5000, 'the last Record');
    expect(a.records.map((r) => decodedMsgId(r.payload))).toEqual(['ct-usp', 'ct-bbf', 'ct-none', 'ct-last']);
    expect(a.records.every((r) => r.replyTo === ctl.topic)).toBe(true);
    await a.mtp.close();
  });
});

// ---- mqtts against mosquitto with the test CA --------------------------------------------------

describe('MqttMtp over TLS (mosquitto, mqtts)', () => {
  let m: Awaited<ReturnType<typeof startMosquitto>>;
  const ca = readFileSync(fixture('tls/ca.pem'), 'utf8');
  beforeAll(async () => {
    m = await startMosquitto({ tls: { certFile: fixture('tls/server.pem'), keyFile: fixture('tls/server-key.pem') } });
  });
  afterAll(async () => {
    await m?.stop();
  });

  it('connects with the CA and round-trips a Record', async () => {
    const ctl = await TestController.start({ url: m.url, protocolVersion: 5, ca });
    try {
      const a = makeAgent(m.url, 5, { ca });
      a.mtp.connect();
      await a.waitUp();
      await ctl.sendMsg(a.address, { header: { msg_id: 'tls-1' }, body: { request: { get: { param_paths: ['Device.'] } } } });
      await until(() => a.records.length === 1, 5000, 'the Record over TLS');
      expect(decodedMsgId(a.records[0]!.payload)).toBe('tls-1');
      await a.mtp.close();
    } finally {
      await ctl.stop();
    }
  });

  it('refuses a broker certificate outside the CA: onDown once', async () => {
    const wrongCa = readFileSync(fixture('tls/server.pem'), 'utf8'); // self, not the issuer
    const a = makeAgent(m.url, 4, { ca: wrongCa });
    a.mtp.connect();
    expect(await a.waitDown()).toMatch(/certificate|self.signed|verify/i);
    await a.settled();
    expect(a.downs).toHaveLength(1);
    expect(a.ups).toEqual([]);
    await a.mtp.close();
  });
});

describe('MqttMtp over TLS to a broker that requires a client certificate (--usp-cert / --usp-key)', () => {
  let m: Awaited<ReturnType<typeof startMosquitto>>;
  const pem = (f: string): string => readFileSync(fixture(f), 'utf8');
  const ca = pem('tls/ca.pem');
  beforeAll(async () => {
    m = await startMosquitto({ tls: { certFile: fixture('tls/server.pem'), keyFile: fixture('tls/server-key.pem'), clientCaFile: fixture('tls/client-ca.pem') } });
  });
  afterAll(async () => {
    await m?.stop();
  });

  it('presents the certificate and round-trips a Record', async () => {
    const ctl = await TestController.start({ url: m.url, protocolVersion: 5, ca, cert: pem('tls/client.pem'), key: pem('tls/client-key.pem') });
    try {
      const a = makeAgent(m.url, 5, { ca, cert: pem('tls/client.pem'), key: pem('tls/client-key.pem') });
      a.mtp.connect();
      await a.waitUp();
      await ctl.sendMsg(a.address, { header: { msg_id: 'mtls-1' }, body: { request: { get: { param_paths: ['Device.'] } } } });
      await until(() => a.records.length === 1, 5000, 'the Record over mutual TLS');
      expect(decodedMsgId(a.records[0]!.payload)).toBe('mtls-1');
      await a.mtp.close();
    } finally {
      await ctl.stop();
    }
  });

  it.each([
    ['without a certificate', {}],
    ['with a certificate the broker does not trust', { cert: pem('tls/rogue.pem'), key: pem('tls/rogue-key.pem') }],
  ])('is refused %s: onDown, never up', async (_what, over) => {
    const a = makeAgent(m.url, 5, { ca, ...over });
    a.mtp.connect();
    expect(await a.waitDown()).not.toBe('');
    await a.settled();
    expect(a.ups).toEqual([]);
    await a.mtp.close();
  });
});

// ---- a scripted broker: what real brokers do not show -----------------------------------------

interface Scripted {
  url: string;
  /** Every packet the client sent, in order. */
  packets: Packet[];
  sockets: Set<Socket>;
  close(): Promise<void>;
}

/** A one-script MQTT server: answers CONNECT/SUBSCRIBE/PUBLISH/PINGREQ as told (or not at all). */
async function scriptedBroker(
  version: 4 | 5,
  script: { connack?: Partial<IConnackPacket> | 'silent'; subackCode?: number; pingresp?: boolean },
): Promise<Scripted> {
  const packets: Packet[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    const p = parser({ protocolVersion: version });
    const send = (pkt: Packet) => sock.write(generate(pkt, { protocolVersion: version }));
    p.on('packet', (pkt: Packet) => {
      packets.push(pkt);
      switch (pkt.cmd) {
        case 'connect':
          if (script.connack !== 'silent') send({ cmd: 'connack', sessionPresent: false, ...(version === 5 ? { reasonCode: 0 } : { returnCode: 0 }), ...script.connack } as Packet);
          break;
        case 'subscribe':
          send({ cmd: 'suback', messageId: pkt.messageId, granted: pkt.subscriptions.map(() => script.subackCode ?? 1) } as Packet);
          break;
        case 'publish':
          if (pkt.qos === 1) send({ cmd: 'puback', messageId: pkt.messageId } as Packet);
          break;
        case 'pingreq':
          if (script.pingresp !== false) send({ cmd: 'pingresp' });
          break;
        case 'disconnect':
          sock.end();
          break;
        default:
          break;
      }
    });
    sock.on('data', (d) => p.parse(d));
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    url: `mqtt://${HOST}:${port}`,
    packets,
    sockets,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

const ofCmd = <C extends Packet['cmd']>(packets: Packet[], cmd: C) => packets.filter((p): p is Extract<Packet, { cmd: C }> => p.cmd === cmd);

describe('MqttMtp CONNECT / CONNACK / SUBSCRIBE details (scripted broker)', () => {
  it('v5 CONNECT carries usp-endpoint-id and Request Response Information; Response Information becomes the reply-to', async () => {
    const fb = await scriptedBroker(5, {
      connack: { properties: { responseInformation: '/usp/discovered/agent-1', assignedClientIdentifier: 'auto-7', userProperties: { 'subscribe-topic': ['/usp/extra/a', '/usp/extra/b'] } } },
    });
    try {
      const a = makeAgent(fb.url, 5);
      a.mtp.connect();
      expect(await a.waitUp()).toEqual({ replyTopic: '/usp/discovered/agent-1', discovered: true, source: 'response-information' });
      const [connect] = ofCmd(fb.packets, 'connect');
      expect(connect!.protocolVersion).toBe(5);
      expect(connect!.clientId).toBe(''); // none configured: the broker assigns one (TR-369 R-MQTT.8)
      expect(connect!.keepalive).toBe(30);
      expect(connect!.properties?.requestResponseInformation).toBe(true);
      expect(connect!.properties?.userProperties).toEqual({ 'usp-endpoint-id': a.address.endpointId });
      const [sub] = ofCmd(fb.packets, 'subscribe');
      // R-MQTT.15: every subscribe-topic, and the Response Information; not the configured topic once a reply-to was given.
      expect(sub!.subscriptions.map((s) => s.topic)).toEqual(['/usp/extra/a', '/usp/extra/b', '/usp/discovered/agent-1']);

      // Publishing names the discovered topic as Response Topic.
      await a.mtp.publish('/usp/controller', new Uint8Array([1, 2, 3]), 1);
      const [pub] = ofCmd(fb.packets, 'publish');
      expect(pub!.topic).toBe('/usp/controller');
      expect(pub!.properties).toMatchObject({ contentType: 'usp.msg', responseTopic: '/usp/discovered/agent-1' });

      // The broker sends DISCONNECT and closes; the next attempt reuses the Assigned Client Identifier.
      for (const s of fb.sockets) s.end(generate({ cmd: 'disconnect', reasonCode: 0x8b, properties: { reasonString: 'server shutting down' } }, { protocolVersion: 5 }));
      expect(await a.waitDown()).toBe('broker sent DISCONNECT (reason code 139: server shutting down)');
      a.mtp.connect();
      await a.waitUp(2);
      expect(ofCmd(fb.packets, 'connect')[1]!.clientId).toBe('auto-7');
      await a.mtp.close();
      expect(ofCmd(fb.packets, 'disconnect')).toHaveLength(1);
    } finally {
      await fb.close();
    }
  });

  it('3.1.1: ClientId defaults to the Endpoint ID; subscribes <topic> and <topic>/#; reply-to goes in the topic', async () => {
    const fb = await scriptedBroker(4, {});
    try {
      const a = makeAgent(fb.url, 4, { username: 'cpe', password: 'secret' });
      a.mtp.connect();
      await a.waitUp();
      const [connect] = ofCmd(fb.packets, 'connect');
      expect(connect).toMatchObject({ protocolVersion: 4, clientId: a.address.endpointId, username: 'cpe', clean: true });
      expect(connect!.password?.toString()).toBe('secret');
      expect(connect!.properties).toBeUndefined();
      expect(ofCmd(fb.packets, 'subscribe')[0]!.subscriptions.map((s) => s.topic)).toEqual([a.address.topic, `${a.address.topic}/#`]);
      await a.mtp.publish('/usp/controller', new Uint8Array([9]), 1);
      expect(ofCmd(fb.packets, 'publish')[0]!.topic).toBe(topicWithReplyTo('/usp/controller', a.address.topic));
      await a.mtp.close();
    } finally {
      await fb.close();
    }
  });

  it.each([4, 5] as const)('all subscriptions refused (v%s): DISCONNECT, then onDown once', async (version) => {
    const fb = await scriptedBroker(version, { subackCode: version === 5 ? 0x87 : 0x80 });
    try {
      const a = makeAgent(fb.url, version);
      a.mtp.connect();
      expect(await a.waitDown()).toMatch(/subscribe refused/);
      await until(() => ofCmd(fb.packets, 'disconnect').length === 1, 5000, 'DISCONNECT at the broker');
      await a.settled();
      expect(a.downs).toHaveLength(1);
      expect(a.ups).toEqual([]);
      expect(a.mtp.state).toBe('down');
      await a.mtp.close();
    } finally {
      await fb.close();
    }
  });

  it('refused CONNACK: onDown once with the reason', async () => {
    const fb = await scriptedBroker(5, { connack: { reasonCode: 0x86 } }); // Bad User Name or Password
    try {
      const a = makeAgent(fb.url, 5);
      a.mtp.connect();
      expect(await a.waitDown()).toMatch(/Connection refused/);
      await a.settled();
      expect(a.downs).toHaveLength(1);
      await a.mtp.close();
    } finally {
      await fb.close();
    }
  });

  it('a silent broker: onDown once at connectTimeoutMs, and close() while connecting is quick', async () => {
    const fb = await scriptedBroker(5, { connack: 'silent' });
    try {
      const a = makeAgent(fb.url, 5, { connectTimeoutMs: 300 });
      const t0 = Date.now();
      a.mtp.connect();
      expect(await a.waitDown()).toMatch(/timeout/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      await a.settled(); // no second report from the attempt that timed out
      expect(a.downs).toHaveLength(1);

      a.mtp.connect();
      await until(() => ofCmd(fb.packets, 'connect').length === 2, 5000, 'the second CONNECT');
      await a.mtp.close();
      expect(a.mtp.state).toBe('closed');
      await a.settled();
      expect(a.downs).toHaveLength(1);
    } finally {
      await fb.close();
    }
  });

  it('keepalive: PINGREQ every KeepAliveTime while idle; unanswered, the connection is dropped once (MQTT 3.1.2.10)', async () => {
    const fb = await scriptedBroker(4, {});
    const silent = await scriptedBroker(4, { pingresp: false });
    try {
      const a = makeAgent(fb.url, 4, { keepaliveSec: 1 });
      a.mtp.connect();
      await a.waitUp();
      await until(() => ofCmd(fb.packets, 'pingreq').length >= 2, 5000, 'two PINGREQs at a 1 s keepalive');
      expect(a.downs).toEqual([]);
      await a.mtp.close();

      const b = makeAgent(silent.url, 4, { keepaliveSec: 1 });
      b.mtp.connect();
      await b.waitUp();
      expect(await b.waitDown()).toMatch(/keepalive timeout/i);
      expect(ofCmd(silent.packets, 'pingreq').length).toBeGreaterThanOrEqual(1);
      await b.settled();
      expect(b.downs).toHaveLength(1);
      await b.mtp.close();
    } finally {
      await fb.close();
      await silent.close();
    }
  });

  it('v5: a packet over the agent\'s Maximum Packet Size gets DISCONNECT 0x95 (MQTT 5 3.1.2.11.4), then onDown once', async () => {
    const fb = await scriptedBroker(5, {});
    try {
      const a = makeAgent(fb.url, 5);
      a.mtp.connect();
      await a.waitUp();
      // A PUBLISH whose Remaining Length says 2 MiB: refused from its fixed header on.
      for (const sock of fb.sockets) sock.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x01]));
      expect(await a.waitDown()).toMatch(/over the Maximum Packet Size of 1048576/);
      await until(() => ofCmd(fb.packets, 'disconnect').length === 1, 5000, 'DISCONNECT at the broker');
      expect(ofCmd(fb.packets, 'disconnect')[0]!.reasonCode).toBe(0x95);
      await a.settled();
      expect(a.downs).toHaveLength(1);
      await a.mtp.close();
    } finally {
      await fb.close();
    }
  });

  it('nothing listening: onDown once (ECONNREFUSED)', async () => {
    const a = makeAgent('mqtt://127.0.0.1:1', 4);
    a.mtp.connect();
    expect(await a.waitDown()).toMatch(/ECONNREFUSED/);
    await a.settled();
    expect(a.downs).toHaveLength(1);
    await a.mtp.close();
  });

  it('a URL that is not mqtt:// or mqtts:// is refused at construction', () => {
    expect(() => makeAgent('ws://127.0.0.1:9001', 5)).toThrow(/only mqtt:\/\/ and mqtts:\/\//);
    expect(() => makeAgent('127.0.0.1:1883', 5)).toThrow(/not a URL|only mqtt/);
  });
});
