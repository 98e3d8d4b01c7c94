// Building the Records an agent sends and sorting the ones it receives (TR-369 R-MTP.5,
// R-MTP.6; docs/usp-behaviour.md). Pure functions: no sockets, no agent state.
import { decodeMsg, decodeRecord, encodeMsg, encodeRecord, msgTypeOfBody } from './codec.js';
import type { MsgInput, MQTTVersion, Notify, Request, UspError, UspMsg } from './types.js';
import type { DeepPartial, Response } from './types.js';

export const USP_VERSION = '1.3';

export interface Ends {
  /** The agent's Endpoint ID. */
  agent: string;
  /** The controller's Endpoint ID. */
  controller: string;
}

function wrap(ends: Ends, msg: MsgInput): Uint8Array {
  return encodeRecord({
    version: USP_VERSION,
    to_id: ends.controller,
    from_id: ends.agent,
    payload_security: 'PLAINTEXT',
    no_session_context: { payload: encodeMsg(msg) },
  });
}

/** TR-369 MQTT binding: announce the agent's reply-to topic after every (re)connect. */
export function connectRecord(ends: Ends, version: MQTTVersion, subscribedTopic: string): Uint8Array {
  return encodeRecord({ version: USP_VERSION, to_id: ends.controller, from_id: ends.agent, mqtt_connect: { version, subscribed_topic: subscribedTopic } });
}

export function disconnectRecord(ends: Ends, reason: string, reasonCode = 0): Uint8Array {
  return encodeRecord({ version: USP_VERSION, to_id: ends.controller, from_id: ends.agent, disconnect: { reason, reason_code: reasonCode } });
}

export function responseRecord(ends: Ends, msgId: string, response: DeepPartial<Response>): Uint8Array {
  const body = { response } as MsgInput['body'];
  return wrap(ends, { header: { msg_id: msgId, msg_type: msgTypeOfBody(body) }, body });
}

export function errorRecord(ends: Ends, msgId: string, error: UspError): Uint8Array {
  return wrap(ends, { header: { msg_id: msgId, msg_type: 'ERROR' }, body: { error } });
}

export function notifyRecord(ends: Ends, msgId: string, notify: DeepPartial<Notify>): Uint8Array {
  return wrap(ends, { header: { msg_id: msgId, msg_type: 'NOTIFY' }, body: { request: { notify } } as MsgInput['body'] });
}

/** What an incoming Record asks of the agent, after TR-369 R-MTP.5's checks. */
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
  // TR-369 R-MTP.5: a Record that cannot be read cannot be answered: drop it.
  if (!rec.ok) return { kind: 'drop', reason: 'bad-record' };
  const r = rec.value;
  if (r.to_id !== self) return { kind: 'drop', reason: 'not-for-me' };
  if (r.from_id === '') return { kind: 'drop', reason: 'bad-record' };
  // The simulator speaks no_session_context only (docs/usp-behaviour.md); connect/disconnect
  // Records from a controller carry nothing for an agent.
  if (r.record_type !== 'no_session_context') return { kind: 'drop', reason: 'unexpected' };
  if (r.payload_security !== 'PLAINTEXT') return { kind: 'drop', reason: 'unexpected' };
  const m = decodeMsg(r.no_session_context.payload);
  if (!m.ok) {
    const { msg_id, msg_type } = m.salvaged;
    // TR-369 R-MTP.5: answer only a Request whose msg_id could be read.
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
