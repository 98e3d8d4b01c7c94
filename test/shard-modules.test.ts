// What a shard thread loads follows what its fleet runs (src/shard/features.ts): a CWMP-only
// fleet's shards hold no USP, MQTT, WebSocket, XMPP-client or state-store code, and no
// undici or fast-xml-parser (sessions run on src/cwmp/http1.ts and src/cwmp/xml-read.ts). Each shard
// lists the scripts V8 has parsed in its thread (src/util/loaded-modules.ts); the same list
// from a fleet that does run USP agents shows the check sees that code when it is there.
import { afterAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config/load.js';
import { shardSemiSpaceMb } from '../src/coordinator/coordinator.js';
import { startFleet, type Fleet } from '../src/coordinator/fleet.js';
import { createLogger } from '../src/log.js';
import { MockAcs } from '../src/mock-acs/mock-acs.js';
import { exampleProfile } from './helpers/harness.js';

/**
 * Code a CWMP-only shard must not hold. Three small USP modules are shared with the rest and
 * stay: usp/identity.js (every CPE's LocalAgent.EndpointID, seen over CWMP too), usp/supported.js
 * (the diagnostics' table of USP commands) and usp/diagnostics.js (the metrics' label values).
 */
const SHARED_USP = new Set(['dist/src/usp/identity.js', 'dist/src/usp/supported.js', 'dist/src/usp/diagnostics.js']);
const NOT_IN_CWMP_ONLY = [/^dist\/src\/usp\//, /^dist\/src\/shard\/usp-/, /^dist\/src\/xmpp\/(client|conn-req|sasl|xml-stream)\.js$/, /^dist\/src\/persist\/store\.js$/, /^node_modules\/(protobufjs|@protobufjs|mqtt|mqtt-packet|ws|lmdb|msgpackr|aedes|uWebSockets\.js|undici|fast-xml-parser)\//];

const until = async (what: string, ok: () => Promise<boolean>, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('modules a shard thread loads', () => {
  const fleets: Fleet[] = [];
  const acs = new MockAcs();
  afterAll(async () => {
    for (const f of fleets) await f.stop();
    await acs.close();
  });

  it('a CWMP-only fleet (2 shards, metrics on) bootstraps over HTTP with no USP, MQTT, XMPP-client or lmdb code in its shards', async () => {
    await acs.listen();
    const cpes = 6;
    const cfg = loadConfig({
      flags: { profile: exampleProfile, acsUrl: acs.url, cpes: String(cpes), shards: '2', bootRamp: '0', crBindAddr: '127.0.0.1:0', metricsBindAddr: '127.0.0.1:0', logLevel: 'silent' },
      env: {},
    });
    const fleet = await startFleet(cfg, createLogger('silent', 'json'));
    fleets.push(fleet);
    // Every CPE ran its bootstrap session against the ACS: the CWMP code has run, not only loaded.
    await acs.waitFor(() => acs.sessions.filter((s) => s.ended).length >= cpes, 20_000, 'all bootstraps');
    await until('all ready', async () => (await fleet.coordinator.stats()).states.ready === cpes);
    expect(acs.sessions.every((s) => s.inform.events.some((e) => e.code === '0 BOOTSTRAP'))).toBe(true);
    const perShard = await fleet.coordinator.modules();
    expect(perShard).toHaveLength(2);
    for (const loaded of perShard) {
      // The list is the real one: the worker, the CWMP session code and the SOAP parser are in it.
      expect(loaded).toEqual(expect.arrayContaining(['dist/workers/shard.js', 'dist/src/shard/cwmp-side.js', 'dist/src/cwmp/soap-parse.js', 'dist/src/shard/xmpp-side.js', 'dist/src/metrics/thread-metrics.js']));
      expect(loaded).toEqual(expect.arrayContaining(['dist/src/cwmp/http1.js', 'dist/src/cwmp/xml-read.js']));
      expect(loaded.filter((m) => !SHARED_USP.has(m) && NOT_IN_CWMP_ONLY.some((re) => re.test(m)))).toEqual([]);
    }
  });

  it('a fleet with USP agents (embedded broker) holds the USP code and its packages in each shard', async () => {
    const cfg = loadConfig({
      flags: { profile: exampleProfile, acsUrl: acs.url, uspBroker: 'embedded', uspEmbeddedBind: '127.0.0.1:0', cpes: '2', shards: '2', bootRamp: '0', crBindAddr: '127.0.0.1:0', logLevel: 'silent' },
      env: {},
    });
    const fleet = await startFleet(cfg, createLogger('silent', 'json'));
    fleets.push(fleet);
    await until('both agents connected to the broker', async () => (await fleet.coordinator.stats()).uspConnections?.['connected'] === 2);
    for (const loaded of await fleet.coordinator.modules()) {
      expect(loaded).toEqual(expect.arrayContaining(['dist/src/shard/usp-side.js', 'dist/src/usp/codec.js', 'dist/src/usp/mtp/mqtt.js']));
      expect(loaded.some((m) => m.startsWith('node_modules/protobufjs/'))).toBe(true);
      expect(loaded.some((m) => m.startsWith('node_modules/mqtt-packet/'))).toBe(true);
    }
  });
});

describe('young generation of a shard thread', () => {
  it('follows the CPEs per shard: 1 MiB semi-spaces up to 1,024 CPEs, powers of two after, V8\'s 16 MiB past 8,192', () => {
    expect([1, 50, 1024, 1025, 2048, 2049, 5000, 8192, 8193, 500_000, 5_000_000].map(shardSemiSpaceMb)).toEqual([1, 1, 1, 2, 2, 4, 8, 8, 16, 16, 16]);
  });
});
