// What every CPE of a shard shares: the template, the identity pattern, the pools, the
// connection-request URL scheme. A CPE's EvalContext is built from it on demand.
import { hash } from 'node:crypto';
import type { Template } from '../datamodel/schema.js';
import { compileSerialPattern } from '../profile/identity.js';
import type { EvalContext, ResolvedIdentity } from '../profile/templates.js';
import type { ProfileSpec } from '../profile/types.js';

export class FleetEnv {
  private readonly serialOf: (seed: number, index: number) => string;

  constructor(
    readonly profile: ProfileSpec,
    readonly template: Template,
    readonly seed: number,
    private readonly crBaseUrl: string,
    private readonly crSecret: string,
    readonly acs: { url: string; username: string; password: string },
  ) {
    this.serialOf = compileSerialPattern(profile.identity.serialPattern, profile.identity.oui);
  }

  serial(index: number): string {
    return this.serialOf(this.seed, index);
  }

  identity(index: number): ResolvedIdentity {
    const id = this.profile.identity;
    return {
      serial: this.serial(index),
      oui: id.oui,
      manufacturer: id.manufacturer,
      productClass: id.productClass,
      modelName: id.modelName,
      hardwareVersion: id.hardwareVersion,
      softwareVersion: id.softwareVersion,
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

  context(index: number, now: number, bootAt: number): EvalContext {
    return {
      seed: this.seed,
      index,
      identity: this.identity(index),
      pools: this.profile.pools,
      now,
      bootAt,
      crUrl: () => this.crUrl(index),
      acs: this.acs,
    };
  }
}
