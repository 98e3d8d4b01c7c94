// Shard worker: one long-lived Piscina task per shard (ARCHITECTURE.md). Thin:
// it wires a Shard (src/shard) to its MessagePort and lives until told to stop.
import type { MessagePort } from 'node:worker_threads';
import type { MainToShard, ShardInit, ShardStats, ShardToMain } from '../src/threads/messages.js';
import { compileProfile } from '../src/profile/compile.js';
import type { ProfileSpec } from '../src/profile/types.js';
import { deserialize } from 'node:v8';
import { createLogger } from '../src/log.js';
import { systemClock } from '../src/scheduler/clock.js';
import { Shard } from '../src/shard/shard.js';
import { loadShardFeatures } from '../src/shard/features.js';
import type { ThreadMetrics } from '../src/metrics/thread-metrics.js';
import { toWire } from '../src/util/errors.js';
import { loadedModules } from '../src/util/loaded-modules.js';
import { fileURLToPath } from 'node:url';
import { probeThread, type ThreadProbe } from '../src/util/probe.js';

const METRICS_PUSH_MS = 2000;
/** The package's root (this file is workers/shard.ts, or dist/workers/shard.js once built). */
const packageRoot = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../' : '../../', import.meta.url));

export interface ShardTask {
  init: ShardInit;
  port: MessagePort;
}

// undici builds an Error for every socket the ACS closes (Connection: close ends each
// session); capturing their stacks cost ~0.3 ms per session in the bench. Shard code logs
// error messages, not stacks.
Error.stackTraceLimit = 0;

export default async function runShard({ init, port }: ShardTask): Promise<ShardStats | undefined> {
  const send = (m: ShardToMain) => port.postMessage(m);
  let shard: Shard;
  let baseline: ThreadProbe | undefined;
  let metrics: ThreadMetrics | undefined;
  let pushTimer: NodeJS.Timeout | undefined;
  const uspGauge = () => (shard.usp && init.usp ? { broker: init.usp.brokerLabel, counts: shard.usp.connections.countsByState() } : undefined);
  try {
    // The profile main loaded and serialized (no YAML parser in this thread), else from its folder.
    const profile = init.profileSpec ? (deserialize(init.profileSpec) as ProfileSpec) : (await import('../src/profile/load.js')).loadProfile(init.profileDir);
    const template = compileProfile(profile);
    const log = createLogger(init.logLevel, init.logFormat, { shard: init.shardId });
    const features = await loadShardFeatures(init);
    // Loaded only when metrics are on (and subscribed before any CPE powers on).
    const Metrics = init.metrics ? (await import('../src/metrics/thread-metrics.js')).ThreadMetrics : undefined;
    // The heap before any CPE exists, with the code this shard's features load already in:
    // what the benches count per CPE grows from here.
    baseline = init.measure ? probeThread() : undefined;
    shard = new Shard(init, {
      clock: systemClock,
      profile,
      template,
      log: (level, msg, extra) => log[level](extra ?? {}, msg),
      features,
    });
    if (Metrics) metrics = new Metrics();
    await shard.openSockets();
    shard.start();
    if (metrics) {
      const push = () => void metrics!.snapshot(shard.stateCountsByName(), uspGauge()).then((snapshot) => send({ type: 'metrics', shardId: init.shardId, snapshot }), () => undefined);
      pushTimer = setInterval(push, METRICS_PUSH_MS);
      push();
    }
    send({ type: 'started', shardId: init.shardId, cpes: shard.size, paramCount: template.paramCount, baseline });
  } catch (e) {
    send({ type: 'fatal', shardId: init.shardId, error: toWire(e) });
    port.close();
    return undefined;
  }
  return await new Promise<ShardStats>((resolve) => {
    port.on('message', (msg: MainToShard) => {
      const reply = (value: unknown) => send({ type: 'reply', id: msg.id, ok: true, value });
      try {
        switch (msg.type) {
          case 'cr':
            reply(shard.cr.handle(msg.cpe, msg.request));
            return;
          case 'inspect':
            reply(shard.admin.summary(msg.cpe));
            return;
          case 'detail':
            reply(shard.admin.detail(msg.cpe));
            return;
          case 'list':
            reply(shard.admin.list(msg.state, msg.offset, msg.limit));
            return;
          case 'trigger-cr':
            reply(shard.admin.triggerConnectionRequest(msg.cpe));
            return;
          case 'stats':
            reply(shard.admin.stats());
            return;
          case 'probe':
            reply(probeThread());
            return;
          case 'fault':
            reply(shard.admin.queueFault(msg.cpe, msg.code));
            return;
          case 'event':
            reply({ affected: shard.applyEvent(msg.event, msg.at) });
            return;
          case 'sample':
            reply(shard.sample());
            return;
          case 'modules':
            reply(loadedModules(packageRoot));
            return;
          case 'test-exhaust-memory': {
            // Tests only: refused unless the test harness set the flag (no flag, env var or
            // file can). Allocates until the heap cap ends this thread alone.
            if (!init.testHooks) throw new Error('test hooks are off in this shard');
            const hog: unknown[][] = [];
            for (;;) hog.push(Array.from({ length: 16_384 }, (_, i) => ({ i })));
          }
          case 'stop':
            if (pushTimer) clearInterval(pushTimer);
            void shard.stop().then(
              async (stats) => {
                // A last push, so the totals main keeps include this shard's final counts.
                if (metrics) send({ type: 'metrics', shardId: init.shardId, snapshot: await metrics.snapshot(shard.stateCountsByName(), uspGauge()) });
                metrics?.close();
                reply(stats);
                // main closes the port: closing it here can overtake the reply
                resolve(stats);
              },
              (e: unknown) => {
                send({ type: 'reply', id: msg.id, ok: false, error: toWire(e) });
                resolve(shard.admin.stats());
              },
            );
            return;
          default: {
            const never: never = msg;
            throw new Error(`unknown message ${JSON.stringify(never)}`);
          }
        }
      } catch (e) {
        send({ type: 'reply', id: msg.id, ok: false, error: toWire(e) });
      }
    });
  });
}
