// A USP agent's identity and MQTT credentials, derived per CPE from the --usp-* patterns
// (docs/usp-behaviour.md "Endpoint ID and credentials"): nothing is stored per agent.
import { createHmac } from 'node:crypto';

export interface UspPatterns {
  /** e.g. "os::{oui}-{serial}" */
  endpointId: string;
  /** e.g. "/usp/agent/{endpointId}" */
  agentTopic: string;
  username: string | undefined;
  password: string | undefined;
  secret: string | undefined;
}

export interface AgentFacts {
  index: number;
  oui: string;
  serial: string;
  productClass: string;
}

/**
 * TR-369 R-ARC.5 instance-id characters: A-Z a-z 0-9 - . _ and %HH. A
 * character beyond ASCII is escaped as the %HH of each of its UTF-8 bytes (one code point
 * at a time, so a surrogate pair is one character, not two %HHHH).
 */
const escapeInstanceChars = (s: string): string =>
  s.replace(/[^A-Za-z0-9\-._:%]/gu, (c) => {
    let out = '';
    for (const b of Buffer.from(c, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    return out;
  });

function fill(pattern: string, f: AgentFacts, endpointId?: string): string {
  return pattern.replace(/\{(oui|serial|productClass|index|endpointId)\}/g, (_m, k: string) => {
    switch (k) {
      case 'oui':
        return f.oui;
      case 'serial':
        return f.serial;
      case 'productClass':
        return f.productClass;
      case 'index':
        return String(f.index);
      default:
        return endpointId ?? '';
    }
  });
}

export function endpointIdOf(p: UspPatterns, f: AgentFacts): string {
  return escapeInstanceChars(fill(p.endpointId, f));
}

export function agentTopicOf(p: UspPatterns, f: AgentFacts, endpointId: string): string {
  return fill(p.agentTopic, f, endpointId);
}

/**
 * MQTT credentials of one agent. With --usp-mqtt-secret each agent's password is the
 * lower-case hex HMAC-SHA256 of its Endpoint ID keyed with the secret (a broker's auth
 * plugin can recompute it), and the username defaults to the Endpoint ID.
 */
export function mqttCredentialsOf(p: UspPatterns, f: AgentFacts, endpointId: string): { username?: string; password?: string } {
  const username = p.username !== undefined ? fill(p.username, f, endpointId) : p.secret !== undefined || p.password !== undefined ? endpointId : undefined;
  const password = p.secret !== undefined ? derivePassword(p.secret, endpointId) : p.password;
  return { ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) };
}

export function derivePassword(secret: string, endpointId: string): string {
  return createHmac('sha256', secret).update(endpointId).digest('hex');
}
