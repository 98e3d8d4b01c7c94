// One controller request served against a CPE's data model (TR-369 R-MSG.0): the handler,
// what it changed (for subscriptions and the device's own reactions) and the answer
// Record; and the duplicate-msg_id filter every agent applies first (R-MSG.4).
import { SUBSCRIPTION_TABLE } from './subscriptions.js';
import { handleRequest } from './handlers/index.js';
import type { HandlerResult, UspChangeSink, UspContext } from './handlers/handler.js';
import { errorRecord, responseRecord, type Ends } from './records.js';
import type { Request } from './types.js';

export interface Served {
  /** The answer Record; undefined for an Operate sent with send_resp false. */
  bytes: Uint8Array | undefined;
  result: HandlerResult;
  /** Parameters written (real changes only). */
  written: string[];
  rowsChanged: boolean;
  /** Device.LocalAgent.Subscription rows changed: the agent re-reads them. */
  subsTouched: boolean;
}

export function serveRequest(request: Request, msgId: string, ends: Ends, ctx: Omit<UspContext, 'changes'>, onBug: (e: Error) => void): Served {
  const served: Served = { bytes: undefined, result: { kind: 'error', error: { err_code: 7003, err_msg: 'Internal error', param_errs: [] } }, written: [], rowsChanged: false, subsTouched: false };
  const touch = (path: string) => {
    if (path.startsWith(SUBSCRIPTION_TABLE)) served.subsTouched = true;
  };
  const changes: UspChangeSink = {
    valueSet: (path) => {
      served.written.push(path);
      touch(path);
    },
    objectCreated: (path) => {
      served.rowsChanged = true;
      touch(path);
    },
    objectDeleted: (path) => {
      served.rowsChanged = true;
      touch(path);
    },
  };
  try {
    served.result = handleRequest(request, { ...ctx, changes });
  } catch (e) {
    // A bug serving one request costs that request (7003), never the shard.
    onBug(e as Error);
  }
  const out = served.result;
  const silent = request.req_type === 'operate' && !request.operate.send_resp;
  if (!silent) served.bytes = out.kind === 'response' ? responseRecord(ends, msgId, out.response) : errorRecord(ends, msgId, out.error);
  return served;
}

/** How many recent msg_ids an agent remembers, for how long, and the largest answer kept. */
const RECENT_IDS = 16;
const DUPLICATE_WINDOW_MS = 30_000;
const MAX_KEPT_ANSWER = 16 * 1024;

interface Recent {
  id: string;
  at: number;
  answer: Uint8Array | undefined;
}

/**
 * TR-369 R-MSG.4: a duplicate msg_id is not processed again. Within a bounded window the
 * agent keeps each request's answer (when small) to send it again, so a controller that
 * re-sends after a lost answer, or reuses msg_ids, is not left waiting; after the window
 * the msg_id is new again. Only agents that were asked something hold an entry.
 */
export class DuplicateFilter {
  private readonly recent = new Map<number, Recent[]>();

  /**
   * A duplicate within the window: its kept answer, or true when there is none to send
   * again. Otherwise false, and msgId is remembered.
   */
  seen(l: number, msgId: string, now: number): Uint8Array | boolean {
    let ids = this.recent.get(l);
    const hit = ids?.find((x) => x.id === msgId && now - x.at < DUPLICATE_WINDOW_MS);
    if (hit) return hit.answer ?? true;
    if (!ids) this.recent.set(l, (ids = []));
    ids.push({ id: msgId, at: now, answer: undefined });
    if (ids.length > RECENT_IDS) ids.shift();
    return false;
  }

  /** The answer sent for msgId, kept for a duplicate. */
  answered(l: number, msgId: string, bytes: Uint8Array): void {
    const r = this.recent.get(l)?.find((x) => x.id === msgId);
    if (r && bytes.byteLength <= MAX_KEPT_ANSWER) r.answer = bytes;
  }

  forget(l: number): void {
    this.recent.delete(l);
  }
}
