// The ACS exchange is bounded and the ACS credentials stay where they belong: a trickled
// reply runs into --acs-timeout as a whole, an oversized reply is cut at the cap, an
// unknown mandatory SOAP header gets the MustUnderstand fault, and no credentials follow a
// redirect to another origin over plain http. Every peer here is a raw node:http server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { MAX_ACS_REPLY_BYTES } from '../src/cwmp/transport.js';
import { startHarness, until, type Harness } from './helpers/harness.js';

const informResponse = `<?xml version="1.0"?>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2">
 <soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">inform-1</cwmp:ID></soap-env:Header>
 <soap-env:Body><cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse></soap-env:Body>
</soap-env:Envelope>`;

const getRpcMethodsResponse = `<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2">
 <soap-env:Body><cwmp:GetRPCMethodsResponse><MethodList><string>Inform</string></MethodList></cwmp:GetRPCMethodsResponse></soap-env:Body>
</soap-env:Envelope>`;

const gpvWithHeader = (header: string) => `<?xml version="1.0"?>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2" xmlns:x="urn:example:ext">
 <soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">gpv-9</cwmp:ID>${header}</soap-env:Header>
 <soap-env:Body><cwmp:GetParameterValues><ParameterNames><string>Device.DeviceInfo.SerialNumber</string></ParameterNames></cwmp:GetParameterValues></soap-env:Body>
</soap-env:Envelope>`;

interface Seen {
  body: string;
  authorization: string | undefined;
}
type Handler = (req: IncomingMessage, res: ServerResponse, body: string, n: number) => void;

const servers: Server[] = [];
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

async function rawServer(handle: Handler): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ body, authorization: req.headers.authorization });
      handle(req, res, body, seen.length);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/acs`, seen };
}

const isInform = (body: string) => body.includes('<cwmp:Inform>');
const failReasons = () => h!.shard.admin.stats().failReasons as Record<string, number>;

describe('the ACS exchange is bounded', () => {
  it('a reply body trickled one byte a second fails the session `timeout` after --acs-timeout, and the next session works', async () => {
    let trickle = true;
    const timers: NodeJS.Timeout[] = [];
    const acs = await rawServer((_req, res, body) => {
      if (!isInform(body)) return void res.writeHead(204).end();
      if (!trickle) return void res.writeHead(200, { 'content-type': 'text/xml' }).end(informResponse);
      // Headers now, then one byte a second for far longer than the timeout.
      res.writeHead(200, { 'content-type': 'text/xml', 'content-length': String(informResponse.length) });
      let i = 0;
      const t = setInterval(() => {
        if (res.destroyed || i >= informResponse.length) return clearInterval(t);
        res.write(informResponse[i++]!);
      }, 1000);
      timers.push(t);
      res.on('close', () => clearInterval(t));
    });
    const timeoutMs = 2000;
    h = await startHarness({ acsUrl: acs.url, acsTimeoutMs: timeoutMs });
    const started = Date.now();
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'failed', 30_000, 'trickled session fails');
    const took = Date.now() - started;
    for (const t of timers) clearInterval(t);
    expect(took).toBeGreaterThanOrEqual(timeoutMs - 50);
    expect(failReasons()['timeout']).toBe(1);

    trickle = false;
    h.tick(h.cwmp.retryDueAt(0) - h.clock.now());
    await until(() => h!.shard.lifecycle(0) === 'ready', 10_000, 'next session');
    expect(acs.seen.filter((s) => isInform(s.body))).toHaveLength(2);
  });

  it(`a reply over the ${MAX_ACS_REPLY_BYTES}-byte cap fails the session \`too-large\` without reading it all, whether or not it declares its length`, async () => {
    for (const declare of [false, true]) {
      let written = 0;
      let finished = false;
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const total = 10 * 1024 * 1024;
      const acs = await rawServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/xml', ...(declare ? { 'content-length': String(total) } : {}) });
        const pump = () => {
          while (written < total) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          finished = true;
          res.end();
        };
        res.on('error', () => undefined);
        pump();
      });
      h = await startHarness({ acsUrl: acs.url });
      h.tick();
      await until(() => h!.shard.lifecycle(0) === 'failed', 20_000, 'oversized reply fails the session');
      expect(failReasons()['too-large']).toBe(1);
      // The CPE cut the connection: the server never got to write the whole 10 MB.
      expect(finished).toBe(false);
      expect(written).toBeLessThan(total);
      await h.stop();
      h = undefined;
    }
  });
});

describe('SOAP mustUnderstand (SOAP 1.1 section 4.2.3)', () => {
  it('answers a request carrying an unknown mandatory header with a MustUnderstand fault and does not run it', async () => {
    const acs = await rawServer((_req, res, body, n) => {
      void n;
      if (isInform(body)) return void res.writeHead(200, { 'content-type': 'text/xml' }).end(informResponse);
      if (body.includes('<cwmp:GetRPCMethods>')) return void res.writeHead(200, { 'content-type': 'text/xml' }).end(getRpcMethodsResponse);
      if (body === '') return void res.writeHead(200, { 'content-type': 'text/xml' }).end(gpvWithHeader('<x:Billing soap-env:mustUnderstand="1">42</x:Billing>'));
      res.writeHead(204).end();
    });
    h = await startHarness({ acsUrl: acs.url });
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'ready', 10_000, 'session');
    const answer = acs.seen.find((s) => s.body.includes('Fault'))?.body;
    expect(answer).toBeDefined();
    expect(answer).toMatch(/<faultcode>soap-env:MustUnderstand<\/faultcode>/);
    expect(answer).toContain('x:Billing');
    expect(answer).toContain('xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"');
    expect(answer).toContain('<cwmp:ID soap-env:mustUnderstand="1">gpv-9</cwmp:ID>');
    expect(answer).not.toContain('<detail>');
    expect(acs.seen.some((s) => s.body.includes('GetParameterValuesResponse'))).toBe(false);
  });

  it('serves the request when the unknown header is optional or meant for another actor', async () => {
    const headers = [
      '<x:Billing soap-env:mustUnderstand="0">42</x:Billing>',
      '<x:Billing soap-env:mustUnderstand="1" soap-env:actor="urn:example:someone-else">42</x:Billing>',
      '<cwmp:SessionTimeout soap-env:mustUnderstand="1">60</cwmp:SessionTimeout>',
    ];
    for (const header of headers) {
      const acs = await rawServer((_req, res, body) => {
        if (isInform(body)) return void res.writeHead(200, { 'content-type': 'text/xml' }).end(informResponse);
        if (body.includes('<cwmp:GetRPCMethods>')) return void res.writeHead(200, { 'content-type': 'text/xml' }).end(getRpcMethodsResponse);
        if (body === '') return void res.writeHead(200, { 'content-type': 'text/xml' }).end(gpvWithHeader(header));
        res.writeHead(204).end();
      });
      h = await startHarness({ acsUrl: acs.url });
      h.tick();
      await until(() => h!.shard.lifecycle(0) === 'ready', 10_000, 'session');
      expect(acs.seen.some((s) => s.body.includes('GetParameterValuesResponse'))).toBe(true);
      await h.stop();
      h = undefined;
    }
  });
});

describe('credentials after a redirect', () => {
  it('sends no credentials to another origin over plain http after a 307: the session fails `auth`', async () => {
    const target = await rawServer((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="elsewhere"' }).end();
    });
    const front = await rawServer((_req, res) => {
      res.writeHead(307, { location: target.url }).end();
    });
    h = await startHarness({ acsUrl: front.url, acsCreds: { username: 'cpe', password: 'secret' } });
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'failed', 10_000, 'auth failure');
    expect(failReasons()['auth']).toBe(1);
    expect(target.seen.length).toBeGreaterThanOrEqual(1);
    expect(target.seen.every((s) => s.authorization === undefined)).toBe(true);
  });

  it('still answers Basic on the configured origin, and after a redirect within it', async () => {
    const expected = 'Basic ' + Buffer.from('cpe:secret').toString('base64');
    const acs = await rawServer((req, res, body) => {
      if (req.url === '/acs') return void res.writeHead(307, { location: '/acs2' }).end();
      if (req.headers.authorization !== expected) return void res.writeHead(401, { 'www-authenticate': 'Basic realm="acs"' }).end();
      if (isInform(body)) return void res.writeHead(200, { 'content-type': 'text/xml' }).end(informResponse);
      res.writeHead(204).end();
    });
    h = await startHarness({ acsUrl: acs.url, acsCreds: { username: 'cpe', password: 'secret' } });
    h.tick();
    await until(() => h!.shard.lifecycle(0) === 'ready', 10_000, 'session');
    expect(acs.seen.some((s) => s.authorization === expected)).toBe(true);
  });
});
