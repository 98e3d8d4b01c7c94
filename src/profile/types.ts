// The profile as read from YAML, validated, before compilation into a Template.
import type { PoolsSpec } from '../datamodel/context.js';
import type { ActiveNotify } from '../datamodel/schema.js';
import type { XsdType } from '../datamodel/values.js';

export interface IdentitySpec {
  manufacturer: string;
  oui: string;
  productClass: string;
  modelName: string;
  serialPattern: string;
  hardwareVersion: string;
  softwareVersion: string;
}

export interface ParamSpec {
  name: string;
  type: XsdType;
  writable: boolean;
  value: string;
  gen: unknown;
  notify: 0 | 1 | 2;
  activeNotify: ActiveNotify;
  forcedInform: boolean;
  hidden: boolean;
  enumValues: string[] | undefined;
  range: [number, number] | undefined;
  maxLength: number | undefined;
  /** "file: key path" for error messages. */
  where: string;
}

export interface ObjectSpec {
  path: string;
  instances: { min: number; max: number } | undefined;
  writable: boolean;
  params: ParamSpec[];
  where: string;
}

/** settings.maxDownloadBytes when a profile says nothing: 256 MiB, more than a gateway image. */
export const DEFAULT_MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024;

/** What the modelled TR-143 tests (ping, traceroute, UDP echo, server selection) draw from. */
export interface DiagnosticsModelSpec {
  /** Round-trip times to a host, ms: each (CPE, host) gets a base RTT in [min, max], each probe some jitter on top. */
  rttMs: [number, number];
  /** Share of probes lost, percent. */
  lossPercent: number;
  /** Hops to a host for a traceroute, [min, max]. */
  hops: [number, number];
}

export const DEFAULT_DIAGNOSTICS_MODEL: DiagnosticsModelSpec = { rttMs: [8, 40], lossPercent: 1, hops: [5, 12] };

export interface ProfileSpec {
  dir: string;
  name: string;
  root: 'Device' | 'InternetGatewayDevice';
  identity: IdentitySpec;
  pools: PoolsSpec;
  settings: {
    periodicInformInterval: number | undefined;
    /** Seconds a CPE stays dark while it reboots or resets. */
    rebootSeconds: number;
    /** Version in the second firmware bank before any upgrade. */
    previousSoftwareVersion: string | undefined;
    /** Which version a downloaded firmware image installs: first `match` (regex on URL or file name) wins. */
    firmwareVersions: Array<{ match: string; version: string }>;
    /**
     * Wait out an ACS's Retry-After on a 503 or 429 before the next session (default
     * true); false models firmware that retries on the TR-069 windows alone.
     */
    honorRetryAfter: boolean;
    /**
     * The largest file a Download (or a USP Download(), a DU install) may bring: the
     * device's room for one image. A file past it stops at once with 9010.
     */
    maxDownloadBytes: number;
    /** The modelled TR-143 tests' draws (docs/diagnostics.md). */
    diagnostics: DiagnosticsModelSpec;
  };
  objects: ObjectSpec[];
}
