// Fuzzing a USP agent with what a hostile controller (or anyone able to publish to its
// topic) sends: random bytes and broken variants of real Records and Msgs (bit flips,
// truncation, changed wire types, inserted and cut bytes). A share goes over a real
// broker (the embedded aedes) one by one, each followed by a valid Get whose answer
// proves the agent got past it; the bulk runs in-process through the same pipeline
// (decode, controller gate, duplicates, handlers, the answer Record). Every input is
// answered (a response or a USP Error) or dropped, and either way counted in the metrics
// (cpe_sim_usp_requests_total, cpe_sim_usp_records_dropped_total). Seeded (FUZZ_SEED).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeRecord, decodeMsg } from '../src/usp/codec.js';
import { DuplicateFilter, receive, type InboundAgents } from '../src/usp/inbound.js';
import { mutateUsp, prng, uspBodies } from './helpers/fuzz-inputs.js';
import { startUspBed, type UspBed } from './helpers/usp-fleet.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20251106);

let bed: UspBed;
beforeAll(async () => {
  bed = await startUspBed('aedes', { cpes: 2 });
});
afterAll(async () => bed?.stop());

/** Sum of a counter family over all its label sets. */
async function total(name: string): Promise<number> {
  const fam = (await bed.metrics.catalog.registry.getMetricsAsJSON()).find((f) => f.name === name);
  return (fam?.values ?? []).reduce((a, v) => a + v.value, 0);
}

describe('USP agent fuzzing', () => {
  it('over the broker: each of 250 broken Records is answered or dropped, and counted; the agent answers the Get after each', async () => {
    const rand = prng(SEED);
    const agent = bed.agent(0);
    const bodies = uspBodies();
    let answered = 0;
    let dropped = 0;
    await bed.settle();
    for (let i = 0; i < 250; i++) {
      const msgId = `fz-${SEED}-${i}`;
      const input = mutateUsp(rand, agent.endpointId, bed.ctl.endpointId, msgId, bodies[i % bodies.length]!);
      const seen = bed.ctl.received.length;
      const counted = (await total('cpe_sim_usp_requests_total')) + (await total('cpe_sim_usp_records_dropped_total'));
      await bed.ctl.sendRecordBytes(agent.topic, input);
      // The probe's answer comes after anything the agent sent for the input (one connection, in order).
      const probe = await bed.ask({ request: { get: { param_paths: ['Device.DeviceInfo.SerialNumber'] } } });
      expect(probe.body.msg_body).toBe('response');
      // What the agent answered in between (its own Notifies and MQTTConnect Records are not answers).
      const between = bed.ctl.received
        .slice(seen)
        .filter((r) => r.record.from_id === agent.endpointId && r.msg !== undefined && r.msg.body.msg_body !== 'request' && r.msg.header.msg_id !== probe.header.msg_id);
      // The probe counts once in the requests; the input once, as handled or as dropped.
      const delta = (await total('cpe_sim_usp_requests_total')) + (await total('cpe_sim_usp_records_dropped_total')) - counted - 1;
      const label = `seed ${SEED}, input ${i}: ${Buffer.from(input).toString('hex').slice(0, 200)}`;
      if (delta !== 1) throw new Error(`${label}: counted ${delta} times`);
      if (between.length > 1) throw new Error(`${label}: ${between.length} answers`);
      if (between.length === 1) {
        answered++;
        const m = between[0]!.msg;
        // An answer goes to the controller.
        expect(between[0]!.record.to_id).toBe(bed.ctl.endpointId);
        expect(['response', 'error']).toContain(m?.body.msg_body);
      } else dropped++;
    }
    expect(answered).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThan(0);
  });

  it('in-process: 20,000 broken Records through the agent pipeline; none throws, each is answered with a Record that decodes or dropped with a reason', () => {
    const rand = prng(SEED + 1);
    // The shard's own agents, as its USP side hands them to the pipeline.
    const agents = (bed.h.shard.usp as unknown as { inbound: InboundAgents }).inbound;
    const recent = new DuplicateFilter();
    const self = agents.endpointId(1);
    const bodies = uspBodies();
    const kinds = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const input = mutateUsp(rand, self, bed.ctl.endpointId, `ip-${i}`, bodies[i % bodies.length]!);
      const r = receive(1, input, bed.ctl.topic, agents, recent);
      const key = r.kind === 'dropped' ? `dropped:${r.reason}` : r.kind;
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
      // A request whose Msg cannot be used: 7000 (it does not decode) or 7004 (it breaks the schema).
      if (r.kind === 'refused' && r.errCode !== 7000 && r.errCode !== 7004) throw new Error(`seed ${SEED + 1}, input ${i}: refused with ${r.errCode}`);
      const bytes = r.kind === 'refused' ? r.bytes : r.kind === 'served' ? r.served.bytes : undefined;
      if (bytes) {
        const rec = decodeRecord(bytes);
        if (!rec.ok || rec.value.record_type !== 'no_session_context') throw new Error(`seed ${SEED + 1}, input ${i}: the answer Record does not decode`);
        const msg = decodeMsg(rec.value.no_session_context.payload);
        if (!msg.ok || !['response', 'error'].includes(msg.value.body.msg_body)) throw new Error(`seed ${SEED + 1}, input ${i}: the answer Msg is not a response or an Error`);
      }
    }
    expect(kinds.get('dropped:bad-record')).toBeGreaterThan(0);
    expect(kinds.get('refused') ?? 0).toBeGreaterThan(0);
    expect(kinds.get('served')).toBeGreaterThan(0);
  });

  it('afterwards both agents answer a valid Get over the broker', async () => {
    for (const l of [0, 1]) {
      const m = await bed.ask({ request: { get: { param_paths: ['Device.DeviceInfo.SerialNumber'] } } }, l);
      expect(m.body.msg_body).toBe('response');
    }
    expect(bed.h.shard.usp!.connections.countsByState()['connected']).toBe(2);
  });
});
