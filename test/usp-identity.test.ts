// A USP agent's identity (src/usp/identity.ts): Endpoint ID and topic patterns filled per
// agent, the Endpoint ID's characters escaped, and the MQTT credentials, with the
// per-agent password recomputed here independently with node:crypto.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { agentTopicOf, derivePassword, endpointIdOf, mqttCredentialsOf, type AgentFacts, type UspPatterns } from '../src/usp/identity.js';

const facts: AgentFacts = { index: 7, oui: '0C5A9E', serial: 'CS00000007', productClass: 'HGW-5200' };
const patterns = (o: Partial<UspPatterns> = {}): UspPatterns => ({
  endpointId: 'os::{oui}-{serial}',
  agentTopic: '/usp/agent/{endpointId}',
  username: undefined,
  password: undefined,
  secret: undefined,
  ...o,
});
const hmacHex = (key: string, msg: string) => createHmac('sha256', key).update(msg, 'utf8').digest('hex');

describe('endpointIdOf', () => {
  it('fills {oui}, {serial}, {productClass} and {index}', () => {
    expect(endpointIdOf(patterns(), facts)).toBe('os::0C5A9E-CS00000007');
    expect(endpointIdOf(patterns({ endpointId: 'proto::{productClass}.{index}_{serial}' }), facts)).toBe('proto::HGW-5200.7_CS00000007');
    expect(endpointIdOf(patterns({ endpointId: 'os::{oui}-{oui}' }), facts)).toBe('os::0C5A9E-0C5A9E');
    // unknown placeholders are not patterns: their braces are escaped like any other character
    expect(endpointIdOf(patterns({ endpointId: 'x::{mac}' }), facts)).toBe('x::%7Bmac%7D');
  });

  it('keeps A-Za-z0-9 - . _ : % and escapes anything else as upper-case %HH', () => {
    expect(endpointIdOf(patterns({ endpointId: 'AZaz09-._:%' }), facts)).toBe('AZaz09-._:%');
    const f = { ...facts, serial: 'a b/c+d#e@f~g|h', productClass: 'Home Gateway' };
    expect(endpointIdOf(patterns({ endpointId: 'os::{productClass}-{serial}' }), f)).toBe('os::Home%20Gateway-a%20b%2Fc%2Bd%23e%40f%7Eg%7Ch');
    // control characters keep two digits
    expect(endpointIdOf(patterns({ endpointId: 'x::\t\n' }), facts)).toBe('x::%09%0A');
    // every escape is %HH, upper-case hex
    const id = endpointIdOf(patterns({ endpointId: 'x::[]{}<>"\'!$&()*,;=?^`' }), facts);
    expect(id).toMatch(/^x::(%[0-9A-F]{2})+$/);
    expect(decodeURIComponent(id)).toBe('x::[]{}<>"\'!$&()*,;=?^`');
  });

  it('escapes a character beyond ASCII as the %HH of each of its UTF-8 bytes', () => {
    expect(endpointIdOf(patterns({ endpointId: 'x::{serial}' }), { ...facts, serial: 'é€😀' })).toBe('x::%C3%A9%E2%82%AC%F0%9F%98%80');
  });
});

describe('agentTopicOf', () => {
  it('fills {endpointId} with the (escaped) Endpoint ID, and the per-agent facts', () => {
    const p = patterns({ agentTopic: '/lab/{oui}/{serial}/{index}/{endpointId}' });
    const eid = endpointIdOf(p, facts);
    expect(agentTopicOf(p, facts, eid)).toBe('/lab/0C5A9E/CS00000007/7/os::0C5A9E-CS00000007');
    expect(agentTopicOf(patterns(), facts, eid)).toBe('/usp/agent/os::0C5A9E-CS00000007');
  });
});

describe('mqttCredentialsOf', () => {
  const eid = 'os::0C5A9E-CS00000007';

  it('has no username and no password by default', () => {
    expect(mqttCredentialsOf(patterns(), facts, eid)).toEqual({});
  });

  it('defaults the username to the Endpoint ID when a password or a secret is set', () => {
    expect(mqttCredentialsOf(patterns({ password: 'shared' }), facts, eid)).toEqual({ username: eid, password: 'shared' });
    expect(mqttCredentialsOf(patterns({ secret: 'k' }), facts, eid).username).toBe(eid);
  });

  it('fills the username pattern', () => {
    const p = patterns({ username: 'u-{index}-{serial}-{oui}-{endpointId}', password: 'pw' });
    expect(mqttCredentialsOf(p, facts, eid)).toEqual({ username: `u-7-CS00000007-0C5A9E-${eid}`, password: 'pw' });
    // a username alone, without a password
    expect(mqttCredentialsOf(patterns({ username: 'fixed' }), facts, eid)).toEqual({ username: 'fixed' });
  });

  it('derives each agent\'s password as lower-case hex HMAC-SHA256(key = secret, message = Endpoint ID)', () => {
    const secret = 'fleet-secret';
    const c = mqttCredentialsOf(patterns({ secret }), facts, eid);
    expect(c.password).toBe(hmacHex(secret, eid));
    expect(c.password).toMatch(/^[0-9a-f]{64}$/);
    expect(derivePassword(secret, eid)).toBe(hmacHex(secret, eid));
    // per agent: another Endpoint ID, another password
    expect(derivePassword(secret, 'os::0C5A9E-CS00000008')).not.toBe(c.password);
    // the key is the secret, the message the Endpoint ID (not the other way round): a published test vector
    expect(derivePassword('key', 'The quick brown fox jumps over the lazy dog')).toBe('f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  });

  it('uses the secret over a shared password, and a username pattern over the default', () => {
    expect(mqttCredentialsOf(patterns({ secret: 's', password: 'shared' }), facts, eid)).toEqual({ username: eid, password: hmacHex('s', eid) });
    expect(mqttCredentialsOf(patterns({ secret: 's', username: '{serial}' }), facts, eid)).toEqual({ username: 'CS00000007', password: hmacHex('s', eid) });
  });
});
