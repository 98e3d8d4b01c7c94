// What every CPE of a shard shares: the template, the identity pattern, the pools, the
// connection-request URL scheme. A CPE's EvalContext is built from it on demand.
import { hash } from 'node:crypto';
import type { Template } from '../datamodel/schema.js';
import { compileSerialPattern } from '../profile/identity.js';
import type { EvalContext, ResolvedIdentity, UdpCrFacts, UspIdentity, XmppDefaults } from '../datamodel/context.js';
import { agentTopicOf, endpointIdOf, mqttCredentialsOf, type AgentFacts, type UspPatterns } from '../usp/identity.js';
import type { ProfileSpec } from '../profile/types.js';
import type { XmppInit } from '../threads/messages.js';

export class FleetEnv {
  private readonly serialOf: (seed: number, index: number) => string;

  constructor(
    readonly profile: ProfileSpec,
    readonly template: Template,
    readonly seed: number,
    private readonly crBaseUrl: string,
    private readonly crSecret: string,
    readonly acs: { url: string; username: string; password: string },
    private readonly crCreds: { username?: string | undefined; password?: string | undefined } = {},
    readonly usp?: { patterns: UspPatterns; controllerId: string; controllerTopic: string; mtpProtocol?: string },
    private readonly xmpp?: XmppInit,
  ) {
    this.serialOf = compileSerialPattern(profile.identity.serialPattern, profile.identity.oui);
    this.factoryFirmware = { active: 1, versions: [profile.identity.softwareVersion, profile.settings.previousSoftwareVersion ?? profile.identity.softwareVersion] };
  }

  serial(index: number): string {
    return this.serialOf(this.seed, index);
  }

  /** Firmware banks before any upgrade: the profile's version active in bank 1. */
  readonly factoryFirmware: { active: 1 | 2; versions: [string, string] };

  identity(index: number, softwareVersion?: string): ResolvedIdentity {
    const id = this.profile.identity;
    return {
      serial: this.serial(index),
      oui: id.oui,
      manufacturer: id.manufacturer,
      productClass: id.productClass,
      modelName: id.modelName,
      hardwareVersion: id.hardwareVersion,
      softwareVersion: softwareVersion ?? id.softwareVersion,
    };
  }

  /** The unguessable path segment of CPE `index`'s ConnectionRequestURL. */
  crToken(index: number): string {
    // A keyed hash of the index: unguessable without the secret. One-shot sha256 over
    // secret || ':' || digits costs a quarter of an HMAC; length extension cannot forge
    // another all-digit index, so the keyed prefix is enough here.
    return hash('sha256', `${this.crSecret}:${index}`, 'hex').slice(0, 24);
  }

  crUrl(index: number): string {
    return `${this.crBaseUrl}/cr/${index}/${this.crToken(index)}`;
  }

  private facts(index: number): AgentFacts {
    return { index, oui: this.profile.identity.oui, serial: this.serial(index), productClass: this.profile.identity.productClass };
  }

  /** USP Endpoint ID (TR-369 R-ARC.2a), from --usp-endpoint-id; obuspa's os:: form by default. */
  endpointId(index: number): string {
    return endpointIdOf(this.usp?.patterns ?? DEFAULT_USP_PATTERNS, this.facts(index));
  }

  agentTopic(index: number): string {
    return agentTopicOf(this.usp?.patterns ?? DEFAULT_USP_PATTERNS, this.facts(index), this.endpointId(index));
  }

  mqttCredentials(index: number): { username?: string; password?: string } {
    return mqttCredentialsOf(this.usp?.patterns ?? DEFAULT_USP_PATTERNS, this.facts(index), this.endpointId(index));
  }

  private uspIdentity(index: number): UspIdentity | undefined {
    const u = this.usp;
    if (!u) return undefined;
    return { endpointId: () => this.endpointId(index), agentTopic: () => this.agentTopic(index), controllerId: u.controllerId, controllerTopic: u.controllerTopic, mtpProtocol: u.mtpProtocol };
  }

  /** A --cr-username/--cr-password pattern filled in for one CPE. */
  private fill(pattern: string, index: number): string {
    return pattern.replace(/\{(serial|index|oui)\}/g, (_m, k: string) => (k === 'serial' ? this.serial(index) : k === 'index' ? String(index) : this.profile.identity.oui));
  }

  context(index: number, now: number, bootAt: number, firmware?: { active: 1 | 2; versions: readonly [string, string] }, udpCr?: UdpCrFacts): EvalContext {
    const { username, password } = this.crCreds;
    const fw = firmware ?? this.factoryFirmware;
    return {
      seed: this.seed,
      index,
      identity: this.identity(index, fw.versions[fw.active - 1]),
      firmware: fw,
      pools: this.profile.pools,
      now,
      bootAt,
      crUrl: () => this.crUrl(index),
      acs: this.acs,
      crUsername: username === undefined ? undefined : () => this.fill(username, index),
      crPassword: password === undefined ? undefined : () => this.fill(password, index),
      usp: this.uspIdentity(index),
      udpCr,
      xmpp: this.xmppDefaults(index),
    };
  }

  /** --xmpp-server and its companions for one CPE (patterns filled in); undefined when the fleet leaves XMPP to the profile. */
  private xmppDefaults(index: number): XmppDefaults | undefined {
    const x = this.xmpp;
    if (!x?.server) return undefined;
    return {
      serverAddress: x.server.host,
      serverPort: x.server.port,
      domain: x.domain ?? x.server.host,
      username: () => this.fill(x.username ?? '{serial}', index),
      password: () => this.fill(x.password ?? '', index),
      allowedJids: x.allowedJids ?? '',
      useTls: x.useTls,
    };
  }
}

const DEFAULT_USP_PATTERNS: UspPatterns = { endpointId: 'os::{oui}-{serial}', agentTopic: '/usp/agent/{endpointId}', username: undefined, password: undefined, secret: undefined };
