// The STOMP MTP (TR-369 "STOMP Binding", R-STOMP.*; docs/usp-behaviour.md "STOMP") against a
// real RabbitMQ with its STOMP plugin, started by the test (test/helpers/rabbitmq.ts), and a
// controller that is a plain STOMP client on the same broker (test/helpers/stomp-controller.ts).
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startHarness, uspInit, until, type Harness } from './helpers/harness.js';
import { startRabbitMq, type RabbitMq } from './helpers/rabbitmq.js';
import { StompController } from './helpers/stomp-controller.js';
import { decodeFrames, encodeFrame, negotiateHeartbeat, StompMtp, USP_STOMP_CONTENT_TYPE } from '../src/usp/mtp/stomp.js';
import { encodeRecord, type UspMsg } from '../src/usp/codec.js';

const paramsOf = (m: UspMsg | undefined): Record<string, string> => {
  if (m?.body.msg_body !== 'response' || m.body.response.resp_type !== 'get_resp') throw new Error(`expected GetResp, got ${JSON.stringify(m?.body)}`);
  return Object.assign({}, ...m.body.response.get_resp.req_path_results.flatMap((r) => r.resolved_path_results.map((x) => x.result_params)));
};

describe('STOMP frames (STOMP 1.2)', () => {
  it('escapes header values but not in the STOMP frame; a body with NULs travels by content-length', () => {
    const body = new Uint8Array([1, 0, 2, 0]);
    const f = encodeFrame('SEND', [['destination', '/queue/os::x'], ['reply-to-dest', 'a\nb']], body);
    expect(f.toString('latin1')).toBe('SEND\ndestination:/queue/os\\c\\cx\nreply-to-dest:a\\nb\ncontent-length:4\n\n\u0001\u0000\u0002\u0000\u0000');
    expect(encodeFrame('STOMP', [['endpoint-id', 'os::x']], undefined, true).toString()).toBe('STOMP\nendpoint-id:os::x\n\n\u0000');
    const r = decodeFrames(Buffer.concat([Buffer.from('\n\r\n'), f, Buffer.from('\nCONNECTED\nversion:1.2\nsubscribe-dest:/q/a:b\n\n\u0000MESSA')]));
    expect(r.eols).toBe(3);
    expect(r.frames.map((x) => [x.command, Object.fromEntries(x.headers), [...x.body]])).toEqual([
      ['SEND', { destination: '/queue/os::x', 'reply-to-dest': 'a\nb', 'content-length': '4' }, [1, 0, 2, 0]],
      ['CONNECTED', { version: '1.2', 'subscribe-dest': '/q/a:b' }, []],
    ]);
    expect(r.rest?.toString()).toBe('MESSA');
    expect(decodeFrames(Buffer.from('MESSAGE\ncontent-length:9999999\n\n')).error).toMatch(/over/);
  });

  it('negotiates heart-beats as STOMP 1.2 says', () => {
    expect(negotiateHeartbeat([30000, 30000], '10000,60000')).toEqual({ send: 60000, expect: 30000 });
    expect(negotiateHeartbeat([0, 30000], '10000,10000')).toEqual({ send: 0, expect: 30000 });
    expect(negotiateHeartbeat([30000, 30000], undefined)).toEqual({ send: 0, expect: 0 });
  });
});

describe('CONNECTED subscribe-dest (R-STOMP.6, R-STOMP.15; a scripted broker: RabbitMQ sends none)', () => {
  it('the broker\'s subscribe-dest is subscribed and becomes the reply-to-dest', async () => {
    const frames: Array<{ command: string; headers: Record<string, string> }> = [];
    const server = createServer((sock) => {
      sock.on('error', () => undefined);
      let rest: Buffer | undefined;
      sock.on('data', (d: Buffer) => {
        const r = decodeFrames(rest ? Buffer.concat([rest, d]) : d);
        rest = r.rest;
        for (const f of r.frames) {
          frames.push({ command: f.command, headers: Object.fromEntries(f.headers) });
          if (f.command === 'STOMP') sock.write('CONNECTED\nversion:1.2\nsubscribe-dest:/queue/assigned.by-broker\n\n\u0000');
          if (f.command === 'SUBSCRIBE') sock.write(encodeFrame('RECEIPT', [['receipt-id', f.headers.get('receipt')!]]));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const ups: Array<{ replyTopic: string; discovered: boolean }> = [];
    const mtp = new StompMtp({ url: `stomp://127.0.0.1:${port}`, endpointId: 'os::0C5A9E-SD1', virtualHost: 'usp-vhost', login: 'agent', passcode: 'pw', destination: '/queue/configured', connectTimeoutMs: 3000 }, { onUp: (i) => ups.push(i), onDown: () => undefined, onRecord: () => undefined });
    try {
      mtp.connect();
      await until(() => ups.length === 1, 5000, 'up');
      expect(ups[0]).toEqual({ replyTopic: '/queue/assigned.by-broker', discovered: true });
      expect(frames[0]).toEqual({ command: 'STOMP', headers: { 'accept-version': '1.2', host: 'usp-vhost', login: 'agent', passcode: 'pw', 'endpoint-id': 'os::0C5A9E-SD1' } });
      expect(frames[1]).toEqual({ command: 'SUBSCRIBE', headers: { id: '0', destination: '/queue/assigned.by-broker', ack: 'auto', receipt: 'usp-subscribe' } });
      await mtp.publish('/queue/ctl', new Uint8Array([7]));
      await until(() => frames.length === 3, 5000, 'the SEND');
      expect(frames[2]).toEqual({ command: 'SEND', headers: { destination: '/queue/ctl', 'content-type': USP_STOMP_CONTENT_TYPE, 'reply-to-dest': '/queue/assigned.by-broker', 'content-length': '1' } });
    } finally {
      await mtp.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('USP agents over STOMP (RabbitMQ)', () => {
  let rmq: RabbitMq;
  let ctl: StompController | undefined;
  let h: Harness | undefined;

  beforeAll(async () => {
    rmq = await startRabbitMq();
  }, 90_000);
  afterAll(async () => {
    await rmq?.stop();
  }, 30_000);
  afterEach(async () => {
    await h?.stop();
    await ctl?.stop();
    h = ctl = undefined;
  });

  const stompInit = (over: Record<string, unknown> = {}) =>
    uspInit(rmq.url, { mtp: 'stomp', agentTopic: '/queue/usp.agent.{endpointId}', controllerTopic: '/queue/usp.controller', username: rmq.user.login, password: rmq.user.passcode, ...over });

  it('STOMPConnect Record with the destination; a Get answered on reply-to-dest with the USP content type', async () => {
    ctl = await StompController.start({ port: rmq.port, ...rmq.user });
    h = await startHarness({ cwmp: false, cpes: 2, usp: stompInit() });
    h.tick();
    await until(() => h!.shard.usp!.connections.countsByState().connected === 2, 20_000, 'both agents connected');
    for (const l of [0, 1]) {
      const eid = h.shard.env.endpointId(l);
      const dest = `/queue/usp.agent.${eid}`;
      const hello = await ctl.waitFor((r) => r.record?.from_id === eid && r.record.record_type === 'stomp_connect', 5000, `the STOMPConnect Record of ${eid}`);
      expect(hello.record!.record_type === 'stomp_connect' && hello.record!.stomp_connect).toEqual({ version: 'V1_2', subscribed_destination: dest });
      expect(hello.headers.get('content-type')).toBe(USP_STOMP_CONTENT_TYPE);
      expect(hello.headers.get('reply-to-dest')).toBe(dest);
      expect(hello.headers.get('destination')).toBe('/queue/usp.controller');
      const answer = await ctl.request({ endpointId: eid, destination: dest }, { request: { get: { param_paths: ['Device.LocalAgent.MTP.1.STOMP.', 'Device.LocalAgent.MTP.1.Protocol'] } } });
      expect(answer.headers.get('content-type')).toBe(USP_STOMP_CONTENT_TYPE);
      expect(answer.headers.get('destination')).toBe(ctl.destination); // our reply-to-dest
      expect(answer.headers.get('reply-to-dest')).toBe(dest);
      expect(paramsOf(answer.msg)).toEqual({ Reference: 'Device.STOMP.Connection.1', Destination: dest, DestinationFromServer: '', Protocol: 'STOMP' });
    }
  }, 30_000);

  it('a wrong passcode: the broker\'s ERROR fails the attempt (rejected) and the agent backs off', async () => {
    h = await startHarness({ cwmp: false, usp: stompInit({ password: 'wrong' }) });
    h.tick();
    await until(() => h!.shard.usp!.connections.failures.reasons['rejected'] === 1, 10_000, 'the refused STOMP frame counted');
    expect(h.shard.usp!.connections.state(0)).toBe('backoff');
  }, 20_000);

  it('the agent\'s heart-beats keep an idle connection up past the broker\'s timeout; Records still flow', async () => {
    ctl = await StompController.start({ port: rmq.port, ...rmq.user, destination: '/queue/usp.hb-controller' });
    const records: Uint8Array[] = [];
    const downs: string[] = [];
    let ups = 0;
    const eid = 'os::0C5A9E-HB0001';
    const mtp = new StompMtp(
      { url: rmq.url, endpointId: eid, virtualHost: '/', login: rmq.user.login, passcode: rmq.user.passcode, destination: '/queue/usp.hb-agent', heartbeat: [200, 200], connectTimeoutMs: 5000 },
      { onUp: () => ups++, onDown: (r) => downs.push(r), onRecord: (p) => records.push(new Uint8Array(p)) },
    );
    try {
      mtp.connect();
      await until(() => ups === 1 || downs.length > 0, 5000, 'up');
      expect(downs).toEqual([]);
      // Idle for 4 s. RabbitMQ answers heart-beat:0,1000 (it wants a beat at least every
      // second, sends none) and closes a silent client after about 3 s: only the agent's
      // beats keep this connection.
      await new Promise((r) => setTimeout(r, 4000));
      expect(mtp.state).toBe('up');
      await mtp.publish('/queue/usp.hb-controller', encodeRecord({ version: '1.3', to_id: 'self::usp-controller', from_id: eid, websocket_connect: {} }));
      await ctl.waitFor((r) => r.record?.from_id === eid, 5000, 'the Record after the idle time');
      const sent = ctl.request({ endpointId: eid, destination: '/queue/usp.hb-agent' }, { request: { get: { param_paths: ['Device.'] } } }, 2000);
      sent.catch(() => undefined); // the bare MTP does not answer; its receipt of the Record is what counts
      await until(() => records.length === 1, 5000, 'a Record through the broker to the agent');
      expect(downs).toEqual([]);
    } finally {
      await mtp.close();
    }
  }, 20_000);
});
