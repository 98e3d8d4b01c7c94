// The state dir (--state-dir): one LMDB environment a fleet, opened by the main thread (to
// check the fleet's shape and keep the connection-request secret) and by every shard thread
// (its CPEs' records, keyed by global index). lmdb-js batches the writes of one event turn
// into one transaction and reports when that transaction is flushed to disk, so a shard
// acknowledges a write only once its record is durable, with commits grouped under load.
import { mkdirSync } from 'node:fs';
import { open, type RootDatabase } from 'lmdb';
import { RECORD_FORMAT, recordProblem, type CpeRecord } from './record.js';

/** What a state dir was made for: a record means the same CPE only under the same shape. */
export interface FleetShape {
  seed: number;
  fleetOffset: number;
  cpes: number;
  profile: string;
}

interface Meta extends FleetShape {
  format: number;
  crSecret: string;
  createdAt: string;
}

const META = 'meta';

function openDb(dir: string): RootDatabase {
  mkdirSync(dir, { recursive: true });
  // separateFlushed: a write's promise has a `flushed` promise for when it is on disk.
  return open({ path: `${dir}/cpe-sim.mdb`, compression: false, separateFlushed: true }) as RootDatabase;
}

import { StateDirError } from './state-dir-error.js';

export { StateDirError };

/**
 * Open (or create) the state dir for this fleet: refuse one made for another fleet shape
 * or by a version whose record format this one does not read, naming what differs.
 * Returns the connection-request secret to use (the stored one, so CR URLs stay the same).
 */
export async function prepareStateDir(dir: string, shape: FleetShape, crSecret: string | undefined, fresh: () => string): Promise<{ crSecret: string; created: boolean }> {
  let db: RootDatabase;
  try {
    db = openDb(dir);
  } catch (e) {
    throw new StateDirError(`config: stateDir: cannot open ${dir}: ${(e as Error).message}`);
  }
  try {
    const meta = db.get(META) as Meta | undefined;
    if (meta === undefined) {
      const m: Meta = { format: RECORD_FORMAT, ...shape, crSecret: crSecret ?? fresh(), createdAt: new Date().toISOString() };
      await db.put(META, m);
      await db.flushed;
      return { crSecret: m.crSecret, created: true };
    }
    if (meta.format !== RECORD_FORMAT) {
      throw new StateDirError(`config: stateDir: ${dir} holds state format ${String(meta.format)}, written by another version of cpe-sim; this one reads format ${RECORD_FORMAT}. Use another folder, or remove it to start afresh`);
    }
    const differs: string[] = [];
    const names: Record<keyof FleetShape, string> = { seed: '--seed', fleetOffset: '--fleet-offset', cpes: '--cpes', profile: '--profile' };
    for (const k of Object.keys(names) as Array<keyof FleetShape>) {
      if (meta[k] !== shape[k]) differs.push(`${names[k]} ${JSON.stringify(meta[k])} there, ${JSON.stringify(shape[k])} here`);
    }
    if (crSecret !== undefined && crSecret !== meta.crSecret) differs.push('--cr-secret differs (the stored secret keeps connection-request URLs unchanged)');
    if (differs.length > 0) {
      throw new StateDirError(`config: stateDir: ${dir} was made for another fleet: ${differs.join('; ')}. Run with the same options, or use another folder`);
    }
    return { crSecret: meta.crSecret, created: false };
  } finally {
    await db.close();
  }
}

/** A shard's view of the state dir: read its CPEs' records, write one CPE's record. */
export class StateStore {
  private readonly db: RootDatabase;

  constructor(dir: string) {
    this.db = openDb(dir);
  }

  /** The stored records of global indexes [lo, hi); a record this version cannot read is reported and skipped. */
  *load(lo: number, hi: number, bad: (index: number, why: string) => void): Generator<[number, CpeRecord]> {
    for (const { key, value } of this.db.getRange({ start: lo, end: hi })) {
      if (typeof key !== 'number') continue;
      const why = recordProblem(value);
      if (why) bad(key, why);
      else yield [key, value as CpeRecord];
    }
  }

  /** Store (or, for undefined, remove) CPE `index`'s record; resolves once it is on disk. */
  save(index: number, record: CpeRecord | undefined): Promise<void> {
    const p = (record ? this.db.put(index, record) : this.db.remove(index)) as Promise<boolean> & { flushed?: Promise<void> };
    return Promise.all([p, p.flushed]).then(() => undefined);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
