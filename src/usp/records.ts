// Building the Records an agent sends (TR-369 Records and Msgs; the MQTT binding's
// MQTTConnectRecord and DisconnectRecord). Pure functions: no sockets, no agent state.
// Received Records are sorted in inbound.ts.
import { encodeMsg, encodeRecord, msgTypeOfBody } from './codec.js';
import type { MsgInput, MQTTVersion, Notify, UspError } from './types.js';
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

/** TR-369 WebSocket binding: the WebSocketConnect Record after every (re)connect (R-MTP.6). */
export function websocketConnectRecord(ends: Ends): Uint8Array {
  return encodeRecord({ version: USP_VERSION, to_id: ends.controller, from_id: ends.agent, websocket_connect: {} });
}

/** TR-369 STOMP binding: announce the agent's destination after every (re)connect. */
export function stompConnectRecord(ends: Ends, subscribedDestination: string): Uint8Array {
  return encodeRecord({ version: USP_VERSION, to_id: ends.controller, from_id: ends.agent, stomp_connect: { version: 'V1_2', subscribed_destination: subscribedDestination } });
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
