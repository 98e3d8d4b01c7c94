// Run by test/fuzz-memory.test.ts as `node --expose-gc`: N mutated CWMP envelopes through
// the parser, the RPC handlers and the answer's codec, and N broken USP Records through the
// agent pipeline (decode, gate, duplicates, handlers, the answer Record), all on one
// in-process CPE. Prints the heap and RSS after a full GC once warmed up and at the end,
// as one JSON line. Args: N, seed.
import { buildCpeEnvelope } from '../../src/cwmp/soap-build.js';
import { parseAcsEnvelope } from '../../src/cwmp/soap-parse.js';
import { serveRpc } from '../../src/cwmp/rpc/index.js';
import { DuplicateFilter, receive, type InboundAgents } from '../../src/usp/inbound.js';
import { mutateText, mutateUsp, prng, soapSeeds, uspBodies } from './fuzz-inputs.js';
import { startHarness, uspInit } from './harness.js';

const n = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 1);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function measure(): { heapMb: number; rssMb: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { heapMb: m.heapUsed / 2 ** 20, rssMb: m.rss / 2 ** 20 };
}

// One CPE, CWMP and USP; nothing is ticked, so it opens no session and no MQTT connection
// (the broker URL is never dialled): only what the inputs make it do runs.
const h = await startHarness({ cpes: 1, usp: uspInit('mqtt://127.0.0.1:9') });
const agents = (h.shard.usp as unknown as { inbound: InboundAgents }).inbound;
const recent = new DuplicateFilter();
const self = agents.endpointId(0);
const controller = 'self::usp-controller';
const seeds = soapSeeds();
const bodies = uspBodies();
const soapRand = prng(seed);
const uspRand = prng(seed + 1);
const counts = { soapRequests: 0, soapAnswers: 0, uspAnswered: 0, uspDropped: 0 };

function soap(i: number): void {
  const env = parseAcsEnvelope(mutateText(soapRand, seeds[i % seeds.length]!));
  if (env.message.kind !== 'request') return;
  counts.soapRequests++;
  const out = serveRpc(env.message.request, { view: h.shard.view(0), device: h.shard.device.actions(0) });
  if (buildCpeEnvelope(out, { ...(env.id !== undefined ? { id: env.id } : {}), ...(env.cwmpNamespace ? { cwmpNamespace: env.cwmpNamespace } : {}) }).length > 0) counts.soapAnswers++;
}

function usp(i: number): void {
  const r = receive(0, mutateUsp(uspRand, self, controller, `m-${i}`, bodies[i % bodies.length]!), '/usp/controller', agents, recent);
  if (r.kind === 'dropped') counts.uspDropped++;
  else counts.uspAnswered++;
}

const warm = Math.min(10_000, n / 10);
for (let i = 0; i < warm; i++) {
  soap(i);
  usp(i);
}
const before = measure();
for (let i = warm; i < n; i++) {
  soap(i);
  usp(i);
}
const after = measure();
await h.stop();
process.stdout.write(`${JSON.stringify({ n, seed, before, after, counts })}\n`);
process.exit(0);
