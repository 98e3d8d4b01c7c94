import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { EV } from '../src/cwmp/events.js';
import { parseCpeEnvelope } from '../src/cwmp/soap-parse.js';
import { atBootstrap, spv, startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

// A scripted ACS that answers with exactly the bytes a test gives it, to see how the
// CPE copes with other ACSs' dialects and with garbage.
type Reply = { status: number; body?: string; headers?: Record<string, string> };
async function rawAcs(script: (body: string, n: number) => Reply): Promise<{ url: string; bodies: string[]; server: Server }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      const r = script(body, bodies.length);
      res.writeHead(r.status, { 'content-type': 'text/xml', ...(r.headers ?? {}) }).end(r.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/acs`, bodies, server };
}

const informResponse10 = `<?xml version="1.0"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0">
 <SOAP-ENV:Header><cwmp:ID SOAP-ENV:mustUnderstand="1">inform-1</cwmp:ID></SOAP-ENV:Header>
 <SOAP-ENV:Body><cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse></SOAP-ENV:Body>
</SOAP-ENV:Envelope>`;

const getRpcMethodsResponse10 = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0">
 <soapenv:Body><cwmp:GetRPCMethodsResponse><MethodList><string>Inform</string></MethodList></cwmp:GetRPCMethodsResponse></soapenv:Body>
</soapenv:Envelope>`;

const gpvOddPrefix = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="urn:dslforum-org:cwmp-1-0" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
 <s:Header><c:ID s:mustUnderstand="1">gpv-77</c:ID></s:Header>
 <s:Body><c:GetParameterValues><ParameterNames xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" soapenc:arrayType="xsd:string[1]"><string>Device.DeviceInfo.SerialNumber</string></ParameterNames></c:GetParameterValues></s:Body>
</s:Envelope>`;

let h: Harness | undefined;
let server: Server | undefined;
let extra: Server | undefined;
afterEach(async () => {
  await h?.stop();
  server?.close();
  extra?.close();
  extra = undefined;
  h = undefined;
  server = undefined;
});

describe('other ACS dialects and bad input', () => {
  it('accepts any namespace prefix and answers in the cwmp namespace the ACS used, echoing cwmp:ID', async () => {
    const replies: Reply[] = [
      { status: 200, body: informResponse10 },
      { status: 200, body: getRpcMethodsResponse10 },
      { status: 200, body: gpvOddPrefix },
      { status: 204 },
    ];
    const acs = await rawAcs((_b, n) => replies[n - 1] ?? { status: 204 });
    server = acs.server;
    h = await startHarness({ acsUrl: acs.url });
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'ready', 10_000, 'session');
    // bodies: [Inform, GetRPCMethods, Empty, GPV response]
    expect(acs.bodies[1]).toContain('urn:dslforum-org:cwmp-1-0');
    const answer = acs.bodies[3]!;
    expect(answer).toContain('xmlns:cwmp="urn:dslforum-org:cwmp-1-0"');
    const env = parseCpeEnvelope(answer);
    expect(env.id).toBe('gpv-77');
    expect(env.message.method).toBe('GetParameterValuesResponse');
  });

  it('ends the session on a malformed envelope without crashing, retries, and serves the next session', async () => {
    let broken = true;
    const acs = await rawAcs((body, n) => {
      if (body.includes('<cwmp:Inform>')) return { status: 200, body: informResponse10 };
      if (broken) return { status: 200, body: '<soap-env:Envelope><soap-env:Body><cwmp:GetParameterValues>' };
      void n;
      return { status: 204 };
    });
    server = acs.server;
    h = await startHarness({ acsUrl: acs.url });
    h.tick();
    await settle(h);
    expect(h.shard.lifecycle(0)).toBe('failed'); // malformed -> failed
    expect(h.cwmp.retryDueAt(0)).toBeGreaterThan(h.clock.now());
    broken = false;
    h.tick(h.cwmp.retryDueAt(0) - h.clock.now());
    await settle(h);
    expect(h.shard.lifecycle(0)).toBe('ready'); // recovery
    const informs = acs.bodies.filter((b) => b.includes('<cwmp:Inform>'));
    expect(informs).toHaveLength(2);
    expect(informs[1]).toContain('<RetryCount>1</RetryCount>');
  });

  it('treats an Inform answered with non-SOAP text, HTTP 500 or 503 as a failed session', async () => {
    for (const reply of [{ status: 200, body: 'hello, I am not SOAP' }, { status: 500 }, { status: 503, headers: { 'retry-after': '60' } }] as Reply[]) {
      const acs = await rawAcs(() => reply);
      server = acs.server;
      h = await startHarness({ acsUrl: acs.url });
      h.tick();
      await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, `failure on ${reply.status}`);
      expect(h.cwmp.retryDueAt(0)).toBeGreaterThan(0);
      await h.stop();
      server.close();
      h = undefined;
      server = undefined;
    }
  });

  it('follows a 307 redirect for the rest of the session', async () => {
    const target = await rawAcs((body) => (body.includes('<cwmp:Inform>') ? { status: 200, body: informResponse10 } : { status: 204 }));
    const front = await rawAcs(() => ({ status: 307, headers: { location: target.url } }));
    server = front.server;
    extra = target.server;
    h = await startHarness({ acsUrl: front.url });
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'ready', 10_000, 'redirected session');
    expect(front.bodies).toHaveLength(1);
    expect(target.bodies.length).toBeGreaterThanOrEqual(2);
  });

  it('ends the session cleanly when the ACS answers the CPE\'s GetRPCMethods with nothing', async () => {
    const acs = await rawAcs((body) => (body.includes('<cwmp:Inform>') ? { status: 200, body: informResponse10 } : { status: 204 }));
    server = acs.server;
    h = await startHarness({ acsUrl: acs.url });
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'ready', 10_000, 'clean end');
    expect(acs.bodies).toHaveLength(2);
  });

  it('survives an ACS that sets an unusable ManagementServer.URL: the session fails and is retried, other CPEs carry on', async () => {
    h = await startHarness({
      cpes: 2,
      acs: {
        script: (inform) =>
          inform.events.some((e) => e.code === '0 BOOTSTRAP') && inform.deviceId.serialNumber.endsWith('0')
            ? [{ method: 'SetParameterValues', params: [{ name: 'Device.ManagementServer.URL', value: 'not a url', type: 'string' }], parameterKey: 'bad' }]
            : undefined,
      },
    });
    h.tick();
    await h.acs.waitFor(() => h!.acs.sessions.filter((s) => s.ended).length === 2);
    // The new URL asks for 0 BOOTSTRAP there at once; that session cannot start.
    await until(() => h!.shard.lifecycle(0) === 'failed' && h!.shard.lifecycle(1) === 'ready', 10_000, 'bad URL -> failed');
    expect(h.cwmp.retryDueAt(0)).toBeGreaterThan(h.clock.now());
    h.cwmp.raise(1, EV.PERIODIC);
    await h.acs.waitFor(() => h!.acs.sessions.length === 3 && h!.acs.sessions[2]!.ended, 10_000, 'other CPE');
  });

  it('a connection request to a CPE whose ManagementServer.URL is unusable fails once and waits, not loops', async () => {
    h = await startHarness({
      acs: { script: atBootstrap(spv('bad', ['Device.ManagementServer.URL', 'not a url', 'string'])) },
    });
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, 'failed');
    h.cwmp.raise(0, EV.CONNECTION_REQUEST);
    await settle(h);
    expect(h.shard.admin.stats().sessionsFailed).toBeLessThanOrEqual(3);
    expect(h.cwmp.retryDueAt(0)).toBeGreaterThan(h.clock.now());
  });
});
