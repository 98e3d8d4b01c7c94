// What an agent does with a Record it receives, in order, as pure functions over the
// agent's tree: sort the Record (TR-369 R-MTP.5: unreadable or not addressed to this agent
// is dropped), gate on the controller (only the one Controller.1 names is answered),
// filter duplicate msg_ids (R-MSG.4), serve the request with its handler (R-MSG.0), and
// say what to answer and where. docs/usp-behaviour.md "Records the agent answers, and the
// ones it drops" and "Duplicate msg_id" describe the same steps for users. The caller (src/shard/usp-side.ts) sends what this
// decides and runs the effects; nothing here touches a socket or a timer.
import { decodeMsg, decodeRecord } from './codec.js';
import type { UspDropEvent } from './diagnostics.js';
import type { HandlerResult, UspChangeSink, UspContext } from './handlers/handler.js';
import { handleRequest } from './handlers/index.js';
import { errorRecord, responseRecord, type Ends } from './records.js';
import { SUBSCRIPTION_TABLE } from './subscriptions.js';
import type { Request, UspError, UspMsg } from './types.js';
import type { CpeView } from '../datamodel/view.js';

// ---- sorting a Record ----

/** What an incoming Record asks of the agent, before the controller gate. */
export type Incoming =
  | { kind: 'request'; from: string; msgId: string; msg: UspMsg; request: Request }
  | { kind: 'notify-resp'; from: string; msgId: string }
  /** The controller answered one of our Notifies with an Error: stop retrying it. */
  | { kind: 'notify-error'; from: string; msgId: string }
  /** Answer with an Error Msg (a Request whose body could not be used). */
  | { kind: 'bad-request'; from: string; msgId: string; error: UspError }
  | { kind: 'drop'; reason: 'bad-record' | 'bad-msg' | 'not-for-me' | 'unexpected' };

/** Sort one received Record for the agent `self` (its Endpoint ID). */
export function classify(bytes: Uint8Array, self: string): Incoming {
  const rec = decodeRecord(bytes);
  // A Record that cannot be read cannot be answered: drop it.
  if (!rec.ok) return { kind: 'drop', reason: 'bad-record' };
  const r = rec.value;
  if (r.to_id !== self) return { kind: 'drop', reason: 'not-for-me' };
  if (r.from_id === '') return { kind: 'drop', reason: 'bad-record' };
  // The simulator speaks no_session_context only; connect/disconnect Records from a
  // controller carry nothing for an agent.
  if (r.record_type !== 'no_session_context') return { kind: 'drop', reason: 'unexpected' };
  if (r.payload_security !== 'PLAINTEXT') return { kind: 'drop', reason: 'unexpected' };
  const m = decodeMsg(r.no_session_context.payload);
  if (!m.ok) {
    const { msg_id, msg_type } = m.salvaged;
    // Answer only a Request whose msg_id could be read.
    if (msg_id && msg_type && isRequestType(msg_type)) {
      return { kind: 'bad-request', from: r.from_id, msgId: msg_id, error: { err_code: m.error.err_code, err_msg: m.error.message, param_errs: [] } };
    }
    return { kind: 'drop', reason: 'bad-msg' };
  }
  const msg = m.value;
  const msgId = msg.header.msg_id;
  const body = msg.body;
  if (body.msg_body === 'request') {
    if (msgId === '') return { kind: 'drop', reason: 'bad-msg' };
    return { kind: 'request', from: r.from_id, msgId, msg, request: body.request };
  }
  if (body.msg_body === 'response' && body.response.resp_type === 'notify_resp') return { kind: 'notify-resp', from: r.from_id, msgId };
  if (body.msg_body === 'error') return { kind: 'notify-error', from: r.from_id, msgId };
  return { kind: 'drop', reason: 'unexpected' };
}

const REQUEST_TYPES = new Set(['GET', 'SET', 'ADD', 'DELETE', 'OPERATE', 'NOTIFY', 'GET_SUPPORTED_DM', 'GET_INSTANCES', 'GET_SUPPORTED_PROTO', 'REGISTER', 'DEREGISTER']);
const isRequestType = (t: string): boolean => REQUEST_TYPES.has(t);

// ---- the pipeline ----

/** The shard's agents as the pipeline needs them; `l` is the agent a Record arrived at. */
export interface InboundAgents {
  endpointId(l: number): string;
  /** The agent's tree; one view serves the whole request (gate, handler, answer topic). */
  view(l: number): CpeView;
  /** Controller.1.EndpointID in this view (the configured controller by default). */
  controllerId(view: CpeView): string;
  /** Where an answer goes without a reply-to. */
  controllerTopic(l: number, view: CpeView): string;
  now(): number;
  /** The rest of the handler context: the controller's row and the Operate commands. */
  context(l: number): Pick<UspContext, 'controllerRef' | 'commands'>;
  /** A handler threw: logged; the request is answered 7003. */
  onBug(l: number, e: Error, msgType: string): void;
  /** The largest Record agent l may PUBLISH to `topic` (its MQTT Maximum Packet Size less the packet's own bytes). */
  maxRecordBytes(l: number, topic: string): number;
}

/** What to do with one received Record. */
export type Inbound =
  | { kind: 'dropped'; reason: UspDropEvent['reason']; from?: string }
  /** A NotifyResp (or an Error) for one of the agent's Notifies. */
  | { kind: 'notify-answered'; msgId: string }
  /** A Request that could not be used: answered with an Error, not run. */
  | { kind: 'refused'; view: CpeView; to: string; bytes: Uint8Array; errCode: number }
  /** A msg_id seen within the window: not run again; its first answer goes out again when kept. */
  | { kind: 'duplicate'; view: CpeView; from: string; to: string; again: Uint8Array | undefined }
  | { kind: 'served'; view: CpeView; to: string; msg: UspMsg; request: Request; served: Served };

/** Take one Record for agent l through the pipeline; replyTo is the MTP's reply-to, if it had one. */
export function receive(l: number, payload: Uint8Array, replyTo: string | undefined, agents: InboundAgents, recent: DuplicateFilter): Inbound {
  const self = agents.endpointId(l);
  const inc = classify(payload, self);
  if (inc.kind === 'drop') return { kind: 'dropped', reason: inc.reason };
  // Only the configured controller is answered (its Endpoint ID is in Controller.1).
  const view = agents.view(l);
  const controller = agents.controllerId(view);
  if (inc.from !== controller) return { kind: 'dropped', reason: 'unknown-controller', from: inc.from };
  const ends: Ends = { agent: self, controller };
  // A reply-to the agent may not publish to (a wildcard makes the broker drop the agent,
  // MQTT 3.1.1 4.7.1 / MQTT 5 4.7.1) is refused: the request is not run nor answered.
  if (replyTo !== undefined && (inc.kind === 'request' || inc.kind === 'bad-request') && !publishableTopic(replyTo)) return { kind: 'dropped', reason: 'bad-reply-to', from: inc.from };
  const to = replyTo ?? agents.controllerTopic(l, view);
  switch (inc.kind) {
    case 'notify-resp':
    case 'notify-error':
      return { kind: 'notify-answered', msgId: inc.msgId };
    case 'bad-request':
      return { kind: 'refused', view, to, bytes: errorRecord(ends, inc.msgId, inc.error), errCode: inc.error.err_code };
    case 'request':
      break;
  }
  const now = agents.now();
  const dup = recent.seen(l, inc.msgId, now);
  // Not run again; the first answer is sent again (a controller that re-sends after
  // losing it, or reuses msg_ids, still gets one). An answer too big to keep is not.
  if (dup) return { kind: 'duplicate', view, from: inc.from, to, again: dup === true ? undefined : dup };
  const ctx = { ...agents.context(l), view, controllerId: inc.from, now };
  const served = serveRequest(inc.request, inc.msgId, ends, ctx, (e) => agents.onBug(l, e, inc.msg.header.msg_type), agents.maxRecordBytes(l, to));
  if (served.bytes) recent.answered(l, inc.msgId, served.bytes);
  return { kind: 'served', view, to, msg: inc.msg, request: inc.request, served };
}

/**
 * A topic a PUBLISH may name: not empty, no wildcard `+` or `#` (MQTT 3.1.1 4.7.1, 4.7.3;
 * MQTT 5 4.7.1), no U+0000 (4.7.3), at most 65,535 bytes of UTF-8 (1.5.3).
 */
export function publishableTopic(topic: string): boolean {
  return topic !== '' && !/[+#\u0000]/.test(topic) && Buffer.byteLength(topic, 'utf8') <= 0xffff;
}

// ---- serving one request ----

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

/**
 * Run the request's handler against the agent's tree and build its answer (R-MSG.*, 7003
 * on a bug). An answer Record over `maxBytes` (what one PUBLISH may carry) is never sent:
 * the request is answered 7005 Resources exceeded instead (what it changed stays changed).
 */
export function serveRequest(request: Request, msgId: string, ends: Ends, ctx: Omit<UspContext, 'changes'>, onBug: (e: Error) => void, maxBytes = Number.POSITIVE_INFINITY): Served {
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
  if (served.bytes && served.bytes.byteLength > maxBytes) {
    const error: UspError = { err_code: 7005, err_msg: `Resources exceeded: the answer is ${served.bytes.byteLength} bytes, more than the ${maxBytes} one MQTT packet of this agent may carry`, param_errs: [] };
    served.result = { kind: 'error', error };
    served.bytes = errorRecord(ends, msgId, error);
  }
  return served;
}

// ---- duplicate msg_ids ----

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
 * re-sends after a lost answer, or reuses msg_ids (usp-js does), is not left waiting;
 * after the window the msg_id is new again. Only agents that were asked something hold
 * an entry.
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
