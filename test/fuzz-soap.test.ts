// Fuzzing the CWMP side with what a hostile ACS sends, over the real transport and session
// (a scripted ACS on 127.0.0.1) and, for the bulk, in-process. Seeded: a failure names its
// seed and case, and the same seed gives the same inputs. Each input gets the answer its
// parse calls for: a CWMP fault (9000 unknown method, 9003 unreadable arguments, 9004 too
// much, 9005 a bad name...) sent back to the ACS, or the session ends with a counted
// reason (`malformed`, `too-large`, `protocol`). Nothing crashes, no entity is expanded or
// fetched, and the other CPE keeps working.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EV } from '../src/cwmp/events.js';
import { parseAcsEnvelope, parseCpeEnvelope } from '../src/cwmp/soap-parse.js';
import type { AcsMessage, CpeMessage, ParsedCpeEnvelope } from '../src/cwmp/types.js';
import { mutateText, prng, soapSeeds } from './helpers/fuzz-inputs.js';
import { startHarness, until, type Harness } from './helpers/harness.js';
import { settle } from './helpers/settle.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20251106);

const INFORM_RESPONSE = `<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">1</cwmp:ID></soap-env:Header><soap-env:Body><cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes></cwmp:InformResponse></soap-env:Body></soap-env:Envelope>`;
const GRM_RESPONSE = `<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap-env:Body><cwmp:GetRPCMethodsResponse><MethodList><string>Inform</string></MethodList></cwmp:GetRPCMethodsResponse></soap-env:Body></soap-env:Envelope>`;
const envelope = (body: string, prolog = '') =>
  `<?xml version="1.0"?>${prolog}<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">h-1</cwmp:ID></soap-env:Header><soap-env:Body>${body}</soap-env:Body></soap-env:Envelope>`;
const gpv = (...names: string[]) => `<cwmp:GetParameterValues><ParameterNames>${names.map((n) => `<string>${n}</string>`).join('')}</ParameterNames></cwmp:GetParameterValues>`;

const SEEDS = soapSeeds();
const mutate = mutateText;

/** What the CPE must do with `body`, judged from the parser alone: the oracle for the wire. */
function expected(m: AcsMessage): 'answer' | 'fault' | 'end-ok' | 'end-failed' {
  if (m.kind === 'empty') return 'end-ok';
  if (m.kind === 'malformed' || m.kind === 'response' || m.kind === 'fault') return 'end-failed';
  return m.request.method === 'Unsupported' || m.request.method === 'Invalid' || m.request.method === 'NotUnderstood' ? 'fault' : 'answer';
}

type Outcome = { kind: 'answer'; message: ParsedCpeEnvelope['message']; raw: string } | { kind: 'ended' };

/**
 * A scripted ACS: InformResponse to an Inform, GetRPCMethodsResponse to the CPE's
 * GetRPCMethods, then the queued inputs one per exchange, each answer paired with its
 * input; CPE 1 (the bystander) only ever gets a clean session.
 */
class HostileAcs {
  readonly server: Server;
  readonly queue: Array<string | Buffer> = [];
  readonly outcomes: Outcome[] = [];
  bystanderSessions = 0;
  private pending = false;
  private readonly serials = new WeakMap<Socket, string>();
  url = '';

  constructor(private readonly victim: string) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const send = (b: string | Buffer) => res.writeHead(b.length ? 200 : 204, { 'content-type': 'text/xml; charset=utf-8' }).end(b);
        const parsed = body ? parseCpeEnvelope(body) : undefined;
        if (parsed?.message.method === 'Inform') {
          this.serials.set(req.socket, parsed.message.deviceId.serialNumber);
          if (parsed.message.deviceId.serialNumber !== this.victim) this.bystanderSessions++;
          this.settlePending();
          return send(INFORM_RESPONSE);
        }
        if (parsed?.message.method === 'GetRPCMethods') return send(GRM_RESPONSE);
        if (this.serials.get(req.socket) !== this.victim) return send('');
        if (this.pending && parsed) {
          this.outcomes.push({ kind: 'answer', message: parsed.message, raw: body });
          this.pending = false;
        }
        const next = this.queue.shift();
        if (next === undefined) return send('');
        this.pending = true;
        send(next);
      });
    });
  }

  /** The session ended without answering the last input. */
  settlePending(): void {
    if (this.pending) this.outcomes.push({ kind: 'ended' });
    this.pending = false;
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/acs`;
  }
}

let h: Harness;
let acs: HostileAcs;
/** Where the external entities point: it must never see a connection. */
let trap: NetServer;
let trapConnections = 0;
let dir: string;

beforeAll(async () => {
  trap = createNetServer((s) => {
    trapConnections++;
    s.destroy();
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
  dir = mkdtempSync(join(tmpdir(), 'cpe-sim-xxe-'));
  // Placeholder victim serial; fixed once the harness is up.
  acs = new HostileAcs('');
  await acs.listen();
  h = await startHarness({ cpes: 2, acsUrl: acs.url, acsTimeoutMs: 20_000 });
  (acs as unknown as { victim: string }).victim = h.shard.env.serial(0);
  h.tick();
  await settle(h);
  expect(h.shard.lifecycle(0)).toBe('ready');
  expect(h.shard.lifecycle(1)).toBe('ready');
});

afterAll(async () => {
  await h?.stop();
  acs?.server.close();
  trap?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Feed `inputs` to CPE 0 in as few sessions as they allow (a session that ends takes the
 * next one), and return one outcome per input.
 */
async function feed(inputs: Array<string | Buffer>): Promise<Outcome[]> {
  const from = acs.outcomes.length;
  acs.queue.push(...inputs);
  while (acs.queue.length > 0) {
    // A failed session's retry waits in its backoff window; go there at once.
    const due = h.cwmp.retryDueAt(0);
    if (due > h.clock.now()) h.tick(due - h.clock.now());
    h.cwmp.raise(0, EV.PERIODIC);
    await settle(h, 30_000);
    acs.settlePending();
  }
  return acs.outcomes.slice(from);
}

const failures = () => ({ ...h.shard.admin.stats().failReasons }) as Record<string, number>;
const faultOf = (o: Outcome | undefined) => {
  expect(o?.kind).toBe('answer');
  const m = (o as Extract<Outcome, { kind: 'answer' }>).message;
  expect(m.method).toBe('Fault');
  return (m as Extract<CpeMessage, { method: 'Fault' }>).fault;
};

describe('hostile envelopes over a real CWMP session', () => {
  it('entity expansion and external entities are refused before parsing: the session ends `malformed`, nothing is read or fetched', async () => {
    const marker = `secret-${SEED}`;
    const file = join(dir, 'secret.txt');
    writeFileSync(file, marker);
    const trapUrl = `http://127.0.0.1:${(trap.address() as { port: number }).port}`;
    let laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol">';
    for (let i = 1; i <= 9; i++) laughs += `<!ENTITY lol${i} "${`&lol${i - 1 || ''};`.repeat(10)}">`;
    laughs += ']>';
    const inputs = [
      envelope(gpv('&lol9;'), laughs),
      envelope(gpv('&xxe;'), `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://${file}">]>`),
      envelope(gpv('&xxe;'), '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'),
      envelope(gpv('&xxe;'), `<!DOCTYPE x [<!ENTITY xxe SYSTEM "${trapUrl}/entity">]>`),
      envelope(gpv('Device.'), `<!DOCTYPE x [<!ENTITY % p SYSTEM "${trapUrl}/p.dtd"> %p;]>`),
      envelope(gpv('Device.'), `<!DOCTYPE x SYSTEM "${trapUrl}/x.dtd">`),
      envelope(gpv('Device.'), `<!-- a comment first --><!DOCTYPE x PUBLIC "-//x//EN" "${trapUrl}/public.dtd">`),
    ];
    const before = failures()['malformed'] ?? 0;
    const out = await feed(inputs);
    expect(out).toEqual(inputs.map(() => ({ kind: 'ended' })));
    expect((failures()['malformed'] ?? 0) - before).toBe(inputs.length);
    // A DOCTYPE inside the Body is not a prolog: the parser refuses its external entity.
    const [inner] = await feed([envelope(`<!DOCTYPE x [<!ENTITY xxe SYSTEM "${trapUrl}/inner">]>${gpv('&xxe;')}`)]);
    expect(inner).toEqual({ kind: 'ended' });
    // An undeclared entity is left as text: a name that does not exist (9005).
    const [undeclared] = await feed([envelope(gpv('&xxe;'))]);
    expect(faultOf(undeclared).code).toBe(9005);
    expect(JSON.stringify(acs.outcomes)).not.toContain(marker);
    expect(JSON.stringify(acs.outcomes)).not.toContain('root:');
    expect(trapConnections).toBe(0);
  });

  it('10,000-deep nesting and invalid UTF-8 end the session `malformed`', async () => {
    const deep = envelope(`<cwmp:GetParameterValues><ParameterNames>${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}</ParameterNames></cwmp:GetParameterValues>`);
    const unclosed = envelope(`<cwmp:GetParameterValues>${'<a>'.repeat(10_000)}</cwmp:GetParameterValues>`);
    const [head, tail] = envelope(gpv('Device.DeviceInfo.X')).split('X');
    const badUtf8 = Buffer.concat([Buffer.from(head!), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]), Buffer.from(tail!)]);
    const before = failures()['malformed'] ?? 0;
    const out = await feed([deep, unclosed, badUtf8]);
    expect(out).toEqual([{ kind: 'ended' }, { kind: 'ended' }, { kind: 'ended' }]);
    expect((failures()['malformed'] ?? 0) - before).toBe(3);
  });

  it('a 50 MB body is cut at the reply cap: the session ends `too-large`', async () => {
    const before = failures()['too-large'] ?? 0;
    const big = Buffer.alloc(50 * 1024 * 1024, 'a');
    Buffer.from(envelope('<cwmp:GetParameterValues><ParameterNames><string>')).copy(big);
    const [out] = await feed([big]);
    expect(out).toEqual({ kind: 'ended' });
    expect((failures()['too-large'] ?? 0) - before).toBe(1);
  });

  it('100,000 names in one GetParameterValues is 9004; the session goes on', async () => {
    const names = new Array<string>(100_000).fill('Device.');
    const out = await feed([envelope(gpv(...names)), envelope(gpv('Device.DeviceInfo.SerialNumber'))]);
    expect(faultOf(out[0]).code).toBe(9004);
    expect(out[1]).toMatchObject({ kind: 'answer', message: { method: 'GetParameterValuesResponse' } });
  });

  it('mutated real envelopes: each gets what its parse calls for, a fault code in the CWMP table, or a counted session end', async () => {
    const rand = prng(SEED);
    const inputs: string[] = [];
    for (let i = 0; i < 400; i++) inputs.push(mutate(rand, SEEDS[i % SEEDS.length]!));
    const before = h.shard.admin.stats();
    const out = await feed(inputs);
    expect(out).toHaveLength(inputs.length);
    let ended = 0;
    const codes = new Map<number, number>();
    out.forEach((o, i) => {
      const want = expected(parseAcsEnvelope(inputs[i]!).message);
      const label = `seed ${SEED}, case ${i}: ${JSON.stringify(inputs[i]!.slice(0, 400))}`;
      if (o.kind === 'ended') {
        ended++;
        if (want !== 'end-ok' && want !== 'end-failed') throw new Error(`${label}: expected ${want}, the session ended`);
        return;
      }
      if (want === 'end-ok' || want === 'end-failed') throw new Error(`${label}: expected the session to end, got ${o.message.method}`);
      if (o.message.method === 'Fault') {
        const code = o.message.fault.code;
        // 0: the SOAP MustUnderstand fault; else a CPE fault code of TR-069 A.5.1.
        if (!(code === 0 || (code >= 9000 && code <= 9032))) throw new Error(`${label}: fault code ${code}`);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      } else if (want === 'fault') throw new Error(`${label}: expected a fault, got ${o.message.method}`);
    });
    const after = h.shard.admin.stats();
    // Every session that ended on an input was counted under a reason.
    expect(after.sessionsFailed - before.sessionsFailed).toBeGreaterThan(0);
    expect(after.sessionsFailed - before.sessionsFailed).toBeLessThanOrEqual(ended);
    expect(codes.size).toBeGreaterThan(1);
    expect(ended).toBeGreaterThan(0);
  });

  it('afterwards the CPE and the bystander both complete clean sessions', async () => {
    const bystander = acs.bystanderSessions;
    h.cwmp.raise(1, EV.PERIODIC);
    const out = await feed([envelope(gpv('Device.DeviceInfo.SerialNumber'))]);
    expect(out[0]).toMatchObject({ kind: 'answer', message: { method: 'GetParameterValuesResponse' } });
    await until(() => acs.bystanderSessions > bystander && h.shard.lifecycle(1) === 'ready', 10_000, 'the bystander session');
    expect(h.shard.lifecycle(0)).toBe('ready');
  });
});

describe('the parser in-process', () => {
  it('20,000 mutated envelopes: never throws, always one of the known message kinds', () => {
    const rand = prng(SEED + 1);
    const kinds = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const input = mutate(rand, SEEDS[i % SEEDS.length]!);
      const r = parseAcsEnvelope(input);
      expect(['empty', 'malformed', 'request', 'response', 'fault']).toContain(r.message.kind);
      kinds.set(r.message.kind, (kinds.get(r.message.kind) ?? 0) + 1);
    }
    expect(kinds.get('malformed')).toBeGreaterThan(0);
    expect(kinds.get('request')).toBeGreaterThan(0);
  });
});
