// One CWMP session from the CPE's side (TR-069 3.7.1; docs/cwmp-behaviour.md "Sessions") as an explicit
// state machine: named states, a guard on each transition, one bad-state exit.
import { publishInform, publishMessage } from './diagnostics.js';
import { parseAcsEnvelope } from './soap-parse.js';
import { buildCpeEnvelope } from './soap-build.js';
import { TransportError, type HttpReply } from './transport.js';
import type { AcsRequest, CpeMessage, CpeRequest, Inform, ParsedAcsEnvelope } from './types.js';

/** The CPE behind the session: builds its Inform, serves RPCs, learns the outcome. */
export interface SessionHost {
  inform(): Inform;
  /** The InformResponse arrived: the Inform's events are delivered (TR-069 3.7.1.5). */
  informAccepted(): void;
  /** Requests the CPE wants to make this session, in order (TransferComplete, GetRPCMethods...). */
  cpeRequests(): CpeRequest[];
  /** The ACS answered a CPE request: 'ok' with its response, 'fault' with a fault (8005: retry later). */
  requestDone(req: CpeRequest, result: 'ok' | 'fault'): void;
  /** Serve one ACS request; returns the response or a Fault. */
  serve(req: AcsRequest): CpeMessage;
  /**
   * What serving `req` changed is stored before `out` goes to the ACS (--state-dir): the
   * answer waits on the returned promise; undefined when there is nothing to wait for.
   */
  beforeAnswer?(req: AcsRequest, out: CpeMessage): Promise<unknown> | undefined;
}

/** The HTTP side, one connection for the whole session. */
export interface SessionChannel {
  post(body: string): Promise<HttpReply>;
}

export type SessionOutcome =
  | { ok: true; messages: number }
  | {
      ok: false;
      reason: FailReason;
      detail: string;
      informDelivered: boolean;
      /** The HTTP status of the ACS's answer the session failed on (absent when none came). */
      status?: number;
      /** The Retry-After header of that answer, as sent (RFC 9110 10.2.3), on a 503 or 429. */
      retryAfter?: string;
    };

export { FAIL_REASONS, type FailReason } from './fail-reasons.js';
import type { FailReason } from './fail-reasons.js';

type State =
  | { name: 'inform' }
  | { name: 'cpe-requests' }
  | { name: 'empty-post' }
  | { name: 'answer'; request: AcsRequest; id: string | undefined };

/**
 * The cwmp:ID of the CPE's own requests (Inform, TransferComplete, GetRPCMethods, ...):
 * TR-069 3.5 lets a request carry one, and real firmware sends one with every request,
 * unique per request (docs/cwmp-behaviour.md "Namespaces and SOAP headers"). A random
 * 32-bit start per thread, then counted, in decimal as icwmp writes it.
 */
let nextRequestId = Math.floor(Math.random() * 0x1_0000_0000);
export function requestId(): string {
  nextRequestId = (nextRequestId + 1) >>> 0;
  return String(nextRequestId);
}

/** Upper bound on messages in one session, so a looping ACS cannot pin a CPE forever (--session-timeout bounds its time). */
const MAX_MESSAGES = 10_000;

export async function runSession(host: SessionHost, channel: SessionChannel): Promise<SessionOutcome> {
  let state: State = { name: 'inform' };
  let informDelivered = false;
  let cwmpNamespace: string | undefined;
  let messages = 0;
  /** HoldRequests of the ACS's last message (TR-069 3.5). */
  let hold = false;
  /** Requests already tried this session: each goes out at most once per session. */
  const attempted = new Set<CpeRequest>();
  const unattempted = () => host.cpeRequests().filter((r) => !attempted.has(r));
  const failed = (reason: FailReason, detail: string, status?: number, retryAfter?: string): SessionOutcome => ({
    ok: false,
    reason,
    detail,
    informDelivered,
    ...(status !== undefined ? { status } : {}),
    ...(retryAfter !== undefined ? { retryAfter } : {}),
  });

  const exchange = async (msg: CpeMessage | undefined, id?: string): Promise<ParsedAcsEnvelope | SessionOutcome> => {
    if (++messages > MAX_MESSAGES) return failed('too-long', `more than ${MAX_MESSAGES} messages in one session`);
    const body = msg ? buildCpeEnvelope(msg, { id, cwmpNamespace }) : '';
    const sentAt = performance.now();
    // Every exchange is published, failed ones too (status 0): an overloaded ACS's slowest
    // answers are the timeouts, and a fault sent is a fault sent.
    const publish = (status: number) =>
      publishMessage({
        sent: msg?.method ?? 'Empty',
        ...(msg?.method === 'Fault' ? { faultCode: msg.fault.code } : {}),
        status,
        seconds: (performance.now() - sentAt) / 1000,
      });
    let reply: HttpReply;
    try {
      reply = await channel.post(body);
    } catch (e) {
      // Answered, then cut (a link reset after the status line): timed as answered.
      publish(e instanceof TransportError ? e.answeredWith ?? 0 : 0);
      // An error status the ACS sent before the link cut its reply (a 503 reset in flight) is still its answer.
      if (e instanceof TransportError) return failed(e.reason, e.message, e.status ?? (e.answeredWith !== undefined && e.answeredWith >= 400 ? e.answeredWith : undefined));
      return failed('io', (e as Error).message);
    }
    publish(reply.status);
    // TR-069 3.7.2.4: 204 (or 200 with no body) from the ACS ends the session
    if (reply.status === 204) {
      hold = false;
      return parseAcsEnvelope('');
    }
    if (reply.status !== 200) {
      // A 503 or 429 may say when to come back (docs/cwmp-behaviour.md "Retry-After").
      const ra = reply.status === 503 || reply.status === 429 ? reply.headers['retry-after'] : undefined;
      return failed('http-status', `ACS answered HTTP ${reply.status}`, reply.status, Array.isArray(ra) ? ra[0] : ra);
    }
    // XML 1.0 4.3.3: bytes that are not UTF-8 in a UTF-8 entity are a fatal error.
    if (reply.notUtf8) return failed('malformed', 'the ACS reply is not valid UTF-8 (XML 1.0 section 4.3.3)');
    const env = parseAcsEnvelope(reply.body);
    if (env.cwmpNamespace) cwmpNamespace = env.cwmpNamespace;
    hold = env.holdRequests;
    return env;
  };
  const isOutcome = (x: ParsedAcsEnvelope | SessionOutcome): x is SessionOutcome => 'ok' in x;

  for (;;) {
    switch (state.name) {
      case 'inform': {
        const inform = host.inform();
        const env = await exchange(inform, requestId());
        const accepted = !isOutcome(env) && env.message.kind === 'response' && env.message.response.method === 'InformResponse';
        publishInform({ events: inform.events.map((e) => e.code), result: accepted ? 'accepted' : 'failed' });
        if (isOutcome(env)) return env;
        const m = env.message;
        if (m.kind === 'response' && m.response.method === 'InformResponse') {
          informDelivered = true;
          host.informAccepted();
          state = { name: 'cpe-requests' };
          break;
        }
        if (m.kind === 'fault') return failed('acs-fault', `ACS answered the Inform with fault ${m.fault.code} ${m.fault.message}`);
        if (m.kind === 'malformed') return failed('malformed', m.reason);
        return failed('no-inform-response', `expected InformResponse, got ${m.kind === 'empty' ? 'an empty reply' : m.kind}`);
      }
      case 'cpe-requests': {
        // TR-069 3.5: while HoldRequests is true the CPE sends no requests
        for (let req = hold ? undefined : unattempted()[0]; req; req = hold ? undefined : unattempted()[0]) {
          attempted.add(req);
          const env = await exchange(req, requestId());
          if (isOutcome(env)) return env;
          const m = env.message;
          if (m.kind === 'fault') {
            host.requestDone(req, 'fault');
            continue;
          }
          if (m.kind === 'response' && m.response.method === `${req.method}Response`) {
            host.requestDone(req, 'ok');
            continue;
          }
          // An ACS that answers a CPE request with nothing has ended the session (TR-069 3.7.2.4).
          if (m.kind === 'empty') return { ok: true, messages };
          if (m.kind === 'malformed') return failed('malformed', m.reason);
          return failed('protocol', `expected ${req.method}Response, got ${m.kind}`);
        }
        state = { name: 'empty-post' };
        break;
      }
      case 'empty-post':
      case 'answer': {
        const out = state.name === 'answer' ? host.serve(state.request) : undefined;
        if (out && state.name === 'answer') await host.beforeAnswer?.(state.request, out);
        const env = await exchange(out, state.name === 'answer' ? state.id : undefined);
        if (isOutcome(env)) return env;
        const m = env.message;
        // The ACS has nothing more: the session ends. Requests held back by HoldRequests wait
        // for the next session rather than follow a 204 (GenieACS closes the session there).
        if (m.kind === 'empty') return { ok: true, messages };
        if (m.kind === 'request') {
          state = { name: 'answer', request: m.request, id: env.id };
          break;
        }
        if (m.kind === 'malformed') return failed('malformed', m.reason);
        return failed('protocol', `unexpected ${m.kind} from the ACS after ${out ? out.method : 'the empty POST'}`);
      }
      default: {
        const never: never = state;
        return failed('protocol', `bad session state ${JSON.stringify(never)}`);
      }
    }
  }
}
