// The WebSocket MTP (TR-369 "WebSocket Binding", R-WS.*; docs/usp-behaviour.md "WebSocket"):
// a shard's agents as WebSocket clients of a controller that is the `ws` library's
// WebSocketServer on a real loopback socket (test/helpers/ws-controller.ts). What the
// controller sees on the wire: the upgrade request (subprotocol v1.usp, the
// bbf-usp-protocol extension with the agent's Endpoint ID), the WebSocketConnect Record
// first, answers and Notifies in binary frames, Pings, the Close codes; and the agent's
// reconnect in the window of Controller.1.MTP.1.WebSocket.SessionRetry*.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from '@jest/globals';
import { WebSocket } from 'ws';
import { readFileSync } from 'node:fs';
import { fixture, startHarness, uspInit, until, type Harness } from './helpers/harness.js';
import { WsController, type WsReceived } from './helpers/ws-controller.js';
import { acceptOf, eidOfExtensions, uspExtensionHeader } from '../src/usp/mtp/websocket.js';
import { decodeMsg, decodeRecord, encodeMsg, encodeRecord, type UspMsg, type UspRecord } from '../src/usp/codec.js';

const paramsOf = (m: UspMsg): Record<string, string> => {
  if (m.body.msg_body !== 'response' || m.body.response.resp_type !== 'get_resp') throw new Error(`expected GetResp, got ${JSON.stringify(m.body)}`);
  return Object.assign({}, ...m.body.response.get_resp.req_path_results.flatMap((r) => r.resolved_path_results.map((x) => x.result_params)));
};

const setOk = (m: UspMsg): void => {
  if (m.body.msg_body !== 'response' || m.body.response.resp_type !== 'set_resp') throw new Error(`expected SetResp, got ${JSON.stringify(m.body)}`);
};

const set = (obj: string, params: Record<string, string>) => ({
  request: { set: { allow_partial: false, update_objs: [{ obj_path: obj, param_settings: Object.entries(params).map(([param, value]) => ({ param, value, required: true })) }] } },
});

const notifyOf = (r: WsReceived) => (r.msg?.body.msg_body === 'request' && r.msg.body.request.req_type === 'notify' ? r.msg.body.request.notify : undefined);

describe('WebSocket extension header helpers (R-WS.10a)', () => {
  it('writes and reads eid as a quoted-string; finds it among other extensions', () => {
    expect(uspExtensionHeader('os::0C5A9E-CS1')).toBe('bbf-usp-protocol; eid="os::0C5A9E-CS1"');
    expect(eidOfExtensions('permessage-deflate, bbf-usp-protocol; eid="a\\"b"')).toBe('a"b');
    expect(eidOfExtensions('bbf-usp-protocol; eid=proto::x')).toBe('proto::x');
    expect(eidOfExtensions('permessage-deflate')).toBeUndefined();
    expect(acceptOf('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo='); // RFC 6455 1.3
  });
});

describe('USP agents as WebSocket clients', () => {
  let ctl: WsController | undefined;
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.stop();
    await ctl?.stop();
    h = ctl = undefined;
  });

  const boot = async (o: { cpes?: number; random?: () => number; ctl?: WsController } = {}) => {
    ctl = o.ctl ?? (await WsController.start());
    h = await startHarness({ cwmp: false, cpes: o.cpes ?? 1, usp: uspInit(ctl.url, { mtp: 'websocket' }), ...(o.random ? { random: o.random } : {}) });
    h.tick();
    return { ctl, h };
  };
  const connected = (hh: Harness, n = 1) => until(() => hh.shard.usp!.connections.countsByState().connected === n, 10_000, `${n} agent(s) connected`);

  it('upgrade with v1.usp and the eid extension; WebSocketConnect first; Get answered; Notifies delivered', async () => {
    const { ctl: c, h: hh } = await boot({ cpes: 2 });
    await connected(hh, 2);
    for (const l of [0, 1]) {
      const eid = hh.shard.env.endpointId(l);
      const up = c.upgrades.find((u) => u.eid === eid)!;
      expect(up.url).toBe('/usp/controller');
      expect(up.headers['sec-websocket-protocol']).toBe('v1.usp');
      expect(up.headers['sec-websocket-extensions']).toBe(`bbf-usp-protocol; eid="${eid}"`);
      expect(up.headers['sec-websocket-version']).toBe('13');
      // The WebSocketConnect Record is the first Record on the connection (R-MTP.6).
      const first = await c.waitFor((r) => r.record.from_id === eid, 5000, `a Record from ${eid}`);
      expect(first.record.record_type).toBe('websocket_connect');
      expect(first.record.to_id).toBe(c.endpointId);
      // An OnBoardRequest Notify follows (first start).
      const onboard = await c.waitFor((r) => r.record.from_id === eid && notifyOf(r)?.notification === 'on_board_req', 5000, 'the OnBoardRequest');
      expect(onboard.eid).toBe(eid);
      const m = await c.request(eid, { request: { get: { param_paths: ['Device.LocalAgent.MTP.1.Protocol', 'Device.LocalAgent.Controller.1.MTP.1.Protocol', 'Device.DeviceInfo.SerialNumber'] } } });
      expect(paramsOf(m)).toEqual({ Protocol: 'WebSocket', SerialNumber: hh.shard.env.serial(l) });
    }

    // A ValueChange subscription, a Set, and the Notify arrives on the same connection.
    const eid = hh.shard.env.endpointId(0);
    const add = await c.request(eid, {
      request: { add: { allow_partial: false, create_objs: [{ obj_path: 'Device.LocalAgent.Subscription.', param_settings: Object.entries({ Enable: 'true', ID: 'vc-ws', NotifType: 'ValueChange', ReferenceList: 'Device.WiFi.SSID.1.SSID' }).map(([param, value]) => ({ param, value, required: true })) }] } },
    });
    expect(add.body.msg_body).toBe('response');
    setOk(await c.request(eid, set('Device.WiFi.SSID.1.', { SSID: 'over-websocket' })));
    const vc = await c.waitFor((r) => r.record.from_id === eid && notifyOf(r)?.subscription_id === 'vc-ws', 5000, 'the ValueChange Notify');
    expect(notifyOf(vc)).toMatchObject({ notification: 'value_change', value_change: { param_path: 'Device.WiFi.SSID.1.SSID', param_value: 'over-websocket' } });
  });

  it('reconnects after the controller restarts, in the SessionRetry window; Pings at KeepAliveInterval', async () => {
    // random 0.5: retry #1 lands in the middle of its window [m, m·k/1000].
    const { ctl: c, h: hh } = await boot({ random: () => 0.5 });
    await connected(hh);
    const eid = hh.shard.env.endpointId(0);
    setOk(await c.request(eid, set('Device.LocalAgent.Controller.1.MTP.1.WebSocket.', { SessionRetryMinimumWaitInterval: '7', SessionRetryIntervalMultiplier: '3000', KeepAliveInterval: '1' })));

    await c.stop();
    await until(() => hh.shard.usp!.connections.state(0) === 'backoff', 5000, 'the agent in backoff');
    await c.restart();
    // Window [7 s, 21 s], random 0.5: 14 s. The shard's timers run on the fake clock.
    hh.tick(13_900);
    expect(hh.shard.usp!.connections.state(0)).toBe('backoff');
    hh.tick(200);
    await connected(hh);
    const again = await c.waitFor((r) => r.record.from_id === eid && r.record.record_type === 'websocket_connect', 5000, 'the second WebSocketConnect Record');
    expect(again.eid).toBe(eid);
    expect(c.upgrades.map((u) => u.eid)).toEqual([eid, eid]); // the first connection and this reconnect
    expect(paramsOf(await c.request(eid, { request: { get: { param_paths: ['Device.DeviceInfo.SerialNumber'] } } }))).toEqual({ SerialNumber: hh.shard.env.serial(0) });
    // KeepAliveInterval 1 s, read at this attempt (R-WS.17, R-WS.18).
    await until(() => (c.pings.get(eid) ?? 0) >= 1, 5000, 'a Ping from the agent');
  });

  describe('wss:// to a controller that requires a client certificate (--usp-cert / --usp-key)', () => {
    const pem = (f: string): string => readFileSync(fixture(f), 'utf8');
    const tlsCtl = () => WsController.start({ tls: { key: pem('tls/server-key.pem'), cert: pem('tls/server.pem'), ca: pem('tls/client-ca.pem'), requestCert: true } });

    it('presents the certificate in the handshake: the controller sees its subject and gets the WebSocketConnect Record', async () => {
      ctl = await tlsCtl();
      h = await startHarness({ cwmp: false, usp: uspInit(ctl.url, { mtp: 'websocket', ca: pem('tls/ca.pem'), cert: pem('tls/client.pem'), key: pem('tls/client-key.pem') }) });
      h.tick();
      await connected(h);
      const eid = h.shard.env.endpointId(0);
      expect(ctl.upgrades.map((u) => [u.eid, u.clientCertCn])).toEqual([[eid, 'cpe-sim test CPE']]);
      expect((await ctl.waitFor((r) => r.record.from_id === eid, 5000, 'the first Record')).record.record_type).toBe('websocket_connect');
    });

    it('without one the TLS handshake is refused: no upgrade reaches the controller, the agent is not connected', async () => {
      ctl = await tlsCtl();
      h = await startHarness({ cwmp: false, usp: uspInit(ctl.url, { mtp: 'websocket', ca: pem('tls/ca.pem') }) });
      h.tick();
      await until(() => h!.shard.usp!.connections.countsByState().backoff === 1, 10_000, 'the attempt failed: backing off');
      expect(ctl.upgrades).toEqual([]);
      expect(h.shard.usp!.connections.countsByState().connected).toBe(0);
    });
  });

  it('a text frame is closed with 1003 (R-WS.16); a server without v1.usp is refused (R-WS.12)', async () => {
    const { ctl: c, h: hh } = await boot();
    await connected(hh);
    const eid = hh.shard.env.endpointId(0);
    c.socketOf(eid)!.send('not a record');
    await until(() => c.closes.some((x) => x.eid === eid && x.code === 1003), 5000, 'a Close 1003 from the agent');
    await until(() => hh.shard.usp!.connections.state(0) === 'backoff', 5000, 'the agent in backoff');
    await hh.stop();
    await c.stop();

    ctl = await WsController.start({ selectUsp: false });
    h = await startHarness({ cwmp: false, usp: uspInit(ctl.url, { mtp: 'websocket' }) });
    h.tick();
    await until(() => h!.shard.usp!.connections.failures.reasons['rejected'] === 1, 5000, 'the refused handshake counted');
    expect(h.shard.usp!.connections.state(0)).toBe('backoff');
    expect(ctl.received).toEqual([]);
  });
});

// ---- agents as WebSocket servers (--usp-ws-listen) ------------------------------------------

/** An upgrade request by hand: the status and body of a refusal, or the 101's headers. */
function rawUpgrade(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers } });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A controller session on the `ws` client (no extension: the ws client refuses any it did not negotiate). */
async function session(port: number, eid: string): Promise<{ ws: WebSocket; records: UspRecord[]; msgs: UspMsg[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/usp/${encodeURIComponent(eid)}`, 'v1.usp', { perMessageDeflate: false });
  const records: UspRecord[] = [];
  const msgs: UspMsg[] = [];
  ws.on('message', (data) => {
    const r = decodeRecord(new Uint8Array(data as Buffer));
    if (!r.ok) return;
    records.push(r.value);
    if (r.value.record_type === 'no_session_context') {
      const m = decodeMsg(r.value.no_session_context.payload);
      if (m.ok) msgs.push(m.value);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  expect(ws.protocol).toBe('v1.usp');
  return { ws, records, msgs };
}

const sendGet = (ws: WebSocket, eid: string, msgId: string, path: string) =>
  ws.send(encodeRecord({ version: '1.3', to_id: eid, from_id: 'self::usp-controller', record_type: 'no_session_context', no_session_context: { payload: encodeMsg({ header: { msg_id: msgId }, body: { request: { get: { param_paths: [path] } } } }) } }));

describe('USP agents as WebSocket servers (--usp-ws-listen)', () => {
  let h: Harness | undefined;
  const open: WebSocket[] = [];

  afterEach(async () => {
    for (const ws of open.splice(0)) ws.terminate();
    await h?.stop();
    h = undefined;
  });

  const start = async (cpes = 2) => {
    h = await startHarness({ cwmp: false, cpes, usp: uspInit('ws://127.0.0.1:0', { mtp: 'websocket', wsListen: { host: '127.0.0.1', port: 0 } }) });
    h.tick();
    const port = await h.shard.usp!.connections.serverPort!;
    await until(() => h!.shard.usp!.connections.countsByState().connecting === cpes, 5000, 'every agent waiting for the controller');
    return { hh: h, port };
  };

  it('the controller connects to /usp/<Endpoint ID>: WebSocketConnect first, then Get answered; after a close the agent waits for the next session', async () => {
    const { hh, port } = await start();
    const eid = hh.shard.env.endpointId(1);
    const s = await session(port, eid);
    open.push(s.ws);
    await until(() => s.records.length >= 1, 5000, 'the first Record');
    expect(s.records[0]).toMatchObject({ record_type: 'websocket_connect', from_id: eid, to_id: 'self::usp-controller' });
    expect(hh.shard.usp!.connections.state(1)).toBe('connected');
    expect(hh.shard.usp!.connections.state(0)).toBe('connecting');
    sendGet(s.ws, eid, 'srv-1', 'Device.DeviceInfo.SerialNumber');
    await until(() => s.msgs.some((m) => m.header.msg_id === 'srv-1'), 5000, 'the GetResp');
    const resp = s.msgs.find((m) => m.header.msg_id === 'srv-1')!;
    expect(resp.body.msg_body === 'response' && resp.body.response.resp_type === 'get_resp' && resp.body.response.get_resp.req_path_results[0]!.resolved_path_results[0]!.result_params).toEqual({ SerialNumber: hh.shard.env.serial(1) });

    // R-WS.4: one session at a time.
    const second = await rawUpgrade(port, `/usp/${encodeURIComponent(eid)}`, { 'Sec-WebSocket-Protocol': 'v1.usp' });
    expect(second.status).toBe(409);
    expect(JSON.parse(second.body)).toEqual({ error: 'the agent has a WebSocket session already (TR-369 R-WS.4: at most one)' });

    s.ws.close(1000);
    await until(() => hh.shard.usp!.connections.state(1) === 'connecting', 5000, 'the agent waiting again');
    const again = await session(port, eid);
    open.push(again.ws);
    await until(() => again.records[0]?.record_type === 'websocket_connect', 5000, 'a WebSocketConnect on the new session');
  });

  it('answers the handshake with v1.usp and its own eid (R-WS.11a); refuses a wrong path, subprotocol or controller with a JSON body', async () => {
    const { hh, port } = await start(1);
    const eid = hh.shard.env.endpointId(0);
    const path = `/usp/${encodeURIComponent(eid)}`;
    const ok = await rawUpgrade(port, path, { 'Sec-WebSocket-Protocol': 'v1.usp', 'Sec-WebSocket-Extensions': 'bbf-usp-protocol; eid="self::usp-controller"' });
    expect(ok.status).toBe(101);
    expect(ok.headers['sec-websocket-protocol']).toBe('v1.usp');
    expect(ok.headers['sec-websocket-extensions']).toBe(`bbf-usp-protocol; eid="${eid}"`);
    expect(ok.headers['sec-websocket-accept']).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    await until(() => hh.shard.usp!.connections.state(0) === 'connecting', 5000, 'the agent waiting again after the raw session went');

    const cases: Array<[string, Record<string, string>, number, RegExp]> = [
      ['/usp/os%3A%3A000000-nobody', { 'Sec-WebSocket-Protocol': 'v1.usp' }, 404, /no USP agent at/],
      [path, { 'Sec-WebSocket-Protocol': 'mqtt' }, 400, /must offer v1\.usp/],
      [path, { 'Sec-WebSocket-Protocol': 'v1.usp', 'Sec-WebSocket-Extensions': 'bbf-usp-protocol; eid="proto::intruder"' }, 403, /is not this agent's controller/],
    ];
    for (const [p, hdrs, status, error] of cases) {
      const r = await rawUpgrade(port, p, hdrs);
      expect(r.status).toBe(status);
      expect(r.headers['content-type']).toBe('application/json');
      expect(JSON.parse(r.body).error).toMatch(error);
    }
  });
});
