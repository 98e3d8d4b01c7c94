// The parts of a shard only some fleets use, loaded on demand (dynamic import) so a thread
// holds only the code its fleet runs: the USP agent side (protobufjs, the MQTT/STOMP/
// WebSocket MTPs, ws) only with --usp-broker, the state dir's store (lmdb, which also
// reserves a 16 MB write buffer) only with --state-dir, and undici's Agent only when
// file transfers need the ACS's TLS material
// (--acs-ca-file, --acs-cert-file with --acs-key-file: what tlsMaterial reads). What a CWMP-only fleet's shard loads is
// pinned by a test (test/shard-modules.test.ts).
import type { ShardInit } from '../threads/messages.js';
import type { UspSide } from './usp-side.js';
import type { StateStore } from '../persist/store.js';
import type { Agent } from 'undici';

export interface ShardFeatures {
  UspSide?: typeof UspSide;
  StateStore?: typeof StateStore;
  Agent?: typeof Agent;
}

/** Load what `init` asks for, before the Shard is built (its constructor is synchronous). */
export async function loadShardFeatures(init: ShardInit): Promise<ShardFeatures> {
  const [usp, store, undici] = await Promise.all([
    init.usp ? import('./usp-side.js') : undefined,
    init.stateDir ? import('../persist/store.js') : undefined,
    init.acs.caFile || (init.acs.certFile && init.acs.keyFile) ? import('undici') : undefined,
  ]);
  return {
    ...(usp ? { UspSide: usp.UspSide } : {}),
    ...(store ? { StateStore: store.StateStore } : {}),
    ...(undici ? { Agent: undici.Agent } : {}),
  };
}
