// TR-069 Amendment 6 Annex K: an XMPP connection request as the CPE judges it, as a pure
// function. The ACS sends an iq get carrying <connectionRequest
// xmlns="urn:broadband-forum-org:cwmp:xmppConnReq-1-0"><username/><password/>; the CPE
// answers an empty iq result and then opens a session with 6 CONNECTION REQUEST, or an
// iq error: <service-unavailable/> (type cancel) to a sender not in
// ManagementServer.ConnReqAllowedJabberIDs (an empty list allows anyone), which an ACS
// reads as "no such service here", and <not-authorized/> (type cancel) when the username
// or password is not the CPE's ConnectionRequestUsername/Password. Error answers carry
// the request's payload back, as the annex's examples and RFC 6120 8.3.1 allow.
import { timingSafeEqual } from 'node:crypto';
import { NS_STANZAS } from './client.js';
import { child, escapeXml, serialize, type XmlEl } from './xml-stream.js';

export const NS_CONNREQ = 'urn:broadband-forum-org:cwmp:xmppConnReq-1-0';

export { XMPP_CR_RESULTS, type XmppCrResult } from './labels.js';
import type { XmppCrResult } from './labels.js';

export interface CrCredentials {
  username: string;
  password: string;
  /** ConnReqAllowedJabberIDs: comma-separated JIDs; empty allows any sender. */
  allowed: string;
}

/** Whether an iq is an Annex K connection request (get; set is taken too, as some ACSs send it). */
export function isConnectionRequest(iq: XmlEl): boolean {
  const t = iq.attrs['type'];
  return (t === 'get' || t === 'set') && child(iq, 'connectionRequest', NS_CONNREQ) !== undefined;
}

/** The bare JID (no resource), domain and local part lower-cased (RFC 7622 nodeprep/nameprep, ASCII part). */
function bare(jid: string): string {
  const slash = jid.indexOf('/');
  return (slash === -1 ? jid : jid.slice(0, slash)).toLowerCase();
}

function normal(jid: string): string {
  const slash = jid.indexOf('/');
  return slash === -1 ? jid.toLowerCase() : `${jid.slice(0, slash).toLowerCase()}${jid.slice(slash)}`;
}

/**
 * Is `from` allowed by the list? An entry with a resource must match the full JID; an
 * entry without one matches any resource of that bare JID.
 */
export function senderAllowed(from: string, allowedList: string): boolean {
  const entries = allowedList.split(',').map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) return true;
  if (!from) return false;
  for (const e of entries) {
    if (e.includes('/') ? normal(e) === normal(from) : bare(e) === bare(from)) return true;
  }
  return false;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Judge a connection request iq; the reply to send back and the result. */
export function answerConnectionRequest(iq: XmlEl, cpe: CrCredentials): { result: XmppCrResult; reply: string } {
  const from = iq.attrs['from'] ?? '';
  const id = iq.attrs['id'] ?? '';
  const to = from ? ` to='${escapeXml(from)}'` : '';
  const fromSelf = iq.attrs['to'] ? ` from='${escapeXml(iq.attrs['to'])}'` : '';
  const error = (condition: 'service-unavailable' | 'not-authorized'): string =>
    `<iq type='error' id='${escapeXml(id)}'${to}${fromSelf}>${serialize(child(iq, 'connectionRequest', NS_CONNREQ)!)}<error type='cancel'><${condition} xmlns='${NS_STANZAS}'/></error></iq>`;
  if (!senderAllowed(from, cpe.allowed)) return { result: 'service-unavailable', reply: error('service-unavailable') };
  const cr = child(iq, 'connectionRequest', NS_CONNREQ)!;
  const username = child(cr, 'username')?.text ?? '';
  const password = child(cr, 'password')?.text ?? '';
  // Both compared, whatever the first gives: no early exit to time.
  const userOk = same(username, cpe.username);
  const passOk = same(password, cpe.password);
  if (!userOk || !passOk || cpe.username === '') return { result: 'not-authorized', reply: error('not-authorized') };
  return { result: 'accepted', reply: `<iq type='result' id='${escapeXml(id)}'${to}${fromSelf}/>` };
}
