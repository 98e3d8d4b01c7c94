// Seeded inputs for the fuzz suites: real CWMP envelopes and USP Records, and the ways
// they are broken. The same seed gives the same inputs, so a failure reproduces.
import { readFileSync } from 'node:fs';
import { encodeMsg, encodeRecord, type MsgInput } from '../../src/usp/codec.js';
import { fixture } from './harness.js';

/** A deterministic PRNG (mulberry32). */
export { prng } from './raw-http.js';

/** Real envelopes an ACS sends (GenieACS's own among them): what the SOAP mutations start from. */
export const soapSeeds = (): string[] =>
  ['genieacs-gpv.xml', 'genieacs-gpn.xml', 'genieacs-spv.xml', 'gpv-no-names.xml', 'unknown-method.xml', 'no-prefix-cwmp11.xml', 'upper-soap-env-cwmp12.xml', 'hold-requests.xml'].map((f) => readFileSync(fixture(`cwmp/${f}`), 'utf8'));

const SPECIAL = ['<', '>', '&', '"', "'", '/', '=', ':', '\u0000', '\uFFFF', '\uD800', 'é', ']]>', '<!--', '<![CDATA[', '&#0;', '&#x110000;', '&amp;', ' xmlns:cwmp="urn:x"'];

/** One to four random edits of a text: flips, cuts, repeats, truncation, odd characters, renamed tags, swapped values. */
export function mutateText(rand: () => number, src: string): string {
  let s = src;
  const ops = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < ops; k++) {
    const at = Math.floor(rand() * s.length);
    const len = 1 + Math.floor(rand() * 24);
    switch (Math.floor(rand() * 7)) {
      case 0:
        s = s.slice(0, at) + String.fromCharCode(32 + Math.floor(rand() * 95)) + s.slice(at + 1);
        break;
      case 1:
        s = s.slice(0, at) + s.slice(at + len);
        break;
      case 2:
        s = s.slice(0, at + len) + s.slice(at, at + len) + s.slice(at + len);
        break;
      case 3:
        s = s.slice(0, at);
        break;
      case 4:
        s = s.slice(0, at) + SPECIAL[Math.floor(rand() * SPECIAL.length)]! + s.slice(at);
        break;
      case 5: // element names decide the RPC and its arguments
        s = s.replace(/<(\/?)([A-Za-z:]+)/g, (m, slash: string, name: string) => (rand() < 0.1 ? `<${slash}${name.slice(0, Math.max(1, name.length - 1))}` : m));
        break;
      default:
        s = s.replace(/>([^<]{1,40})</, () => `>${Math.floor(rand() * 1e9).toString(36)}<`);
    }
  }
  return s;
}

/** The USP requests a controller sends, as Msg bodies (no Operate: a mutated one could reboot the agent). */
export const uspBodies = (): Array<MsgInput['body']> => [
  { request: { get: { param_paths: ['Device.DeviceInfo.', 'Device.WiFi.SSID.*.SSID'], max_depth: 2 } } },
  { request: { get: { param_paths: ['Device.'] } } },
  { request: { set: { allow_partial: true, update_objs: [{ obj_path: 'Device.WiFi.SSID.1.', param_settings: [{ param: 'SSID', value: 'fuzz', required: true }] }] } } },
  { request: { add: { allow_partial: true, create_objs: [{ obj_path: 'Device.NAT.PortMapping.', param_settings: [{ param: 'Description', value: 'fz', required: false }] }] } } },
  { request: { delete: { allow_partial: true, obj_paths: ['Device.NAT.PortMapping.999.'] } } },
  { request: { get_supported_dm: { obj_paths: ['Device.WiFi.'], first_level_only: false, return_commands: true, return_events: true, return_params: true } } },
  { request: { get_instances: { obj_paths: ['Device.WiFi.SSID.'], first_level_only: false } } },
  { request: { get_supported_protocol: { controller_supported_protocol_versions: '1.0,1.3' } } },
];

/** A valid no_session_context Record from `from` to `to` carrying `body` under `msgId`. */
export function uspRecord(to: string, from: string, msgId: string, body: MsgInput['body']): Uint8Array {
  return encodeRecord({ version: '1.3', to_id: to, from_id: from, record_type: 'no_session_context', no_session_context: { payload: encodeMsg({ header: { msg_id: msgId }, body }) } });
}

/**
 * A broken variant of a valid Record: bit flips, truncation, a field's wire type changed
 * (the tag byte's low three bits), bytes inserted or cut, the inner Msg broken the same
 * ways, or random bytes.
 */
export function mutateUsp(rand: () => number, to: string, from: string, msgId: string, body: MsgInput['body']): Uint8Array {
  const pick = Math.floor(rand() * 8);
  if (pick === 0) return randomBytes(rand, Math.floor(rand() * 300));
  if (pick <= 2) {
    // The Msg broken inside a Record that is still well formed: the agent must read the Record and judge the Msg.
    const msg = mutateBytes(rand, encodeMsg({ header: { msg_id: msgId }, body }));
    return encodeRecord({ version: '1.3', to_id: to, from_id: from, record_type: 'no_session_context', no_session_context: { payload: msg } });
  }
  return mutateBytes(rand, uspRecord(to, from, msgId, body));
}

export function randomBytes(rand: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

export function mutateBytes(rand: () => number, src: Uint8Array): Uint8Array {
  let b = Uint8Array.from(src);
  const ops = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < ops && b.length > 0; k++) {
    const at = Math.floor(rand() * b.length);
    switch (Math.floor(rand() * 5)) {
      case 0: // a bit flipped
        b[at] = b[at]! ^ (1 << Math.floor(rand() * 8));
        break;
      case 1: // truncated
        b = b.slice(0, at);
        break;
      case 2: // a wire type changed: protobuf tag bytes carry it in the low 3 bits
        b[at] = (b[at]! & 0xf8) | Math.floor(rand() * 8);
        break;
      case 3: {
        // random bytes inserted
        const ins = randomBytes(rand, 1 + Math.floor(rand() * 8));
        const out = new Uint8Array(b.length + ins.length);
        out.set(b.subarray(0, at));
        out.set(ins, at);
        out.set(b.subarray(at), at + ins.length);
        b = out;
        break;
      }
      default: {
        // a span cut
        const len = 1 + Math.floor(rand() * 8);
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + len)]);
      }
    }
  }
  return b;
}
