// What the template's value functions see and what they are: the per-CPE evaluation
// context and the shapes of the compiled `{{...}}` templates and `gen:` generators a
// ParamNode holds. Defined here so the data model depends on no profile code; src/profile/
// compiles functions of these shapes and src/shard/ builds the contexts.

export interface ResolvedIdentity {
  serial: string;
  oui: string;
  manufacturer: string;
  productClass: string;
  modelName: string;
  hardwareVersion: string;
  softwareVersion: string;
}

export interface MacPool {
  base: number; // 48-bit as a JS number (exact below 2^53)
  perCpe: number;
}
export interface Ipv4Pool {
  base: number;
  size: number;
  perCpe: number;
}
export interface Ipv6Pool {
  /** The prefix's first 64 bits as 4 16-bit groups. */
  groups: number[];
  prefixLen: number;
  perCpe: number;
}

export interface PoolsSpec {
  mac: MacPool;
  ipv4: Record<string, Ipv4Pool>;
  ipv6: Record<string, Ipv6Pool>;
}

/** What a template or generator may read about the CPE it is evaluated for. */
export interface EvalContext {
  seed: number;
  index: number;
  identity: ResolvedIdentity;
  pools: PoolsSpec;
  /** ms since epoch */
  now: number;
  /** ms since epoch of the CPE's last boot */
  bootAt: number;
  crUrl(): string;
  /** The ACS this fleet was started against (defaults of ManagementServer.URL/Username/Password). */
  acs: { url: string; username: string; password: string };
  /** Firmware banks: the active one and the version in each (DeviceInfo.FirmwareImage). */
  firmware: { active: 1 | 2; versions: readonly [string, string] };
  /** --cr-username / --cr-password for this CPE, when configured. */
  crUsername?: (() => string) | undefined;
  crPassword?: (() => string) | undefined;
  /** USP identity and topics (--usp-*); defaults follow obuspa (docs/usp-behaviour.md). */
  usp?: UspIdentity | undefined;
}

export interface UspIdentity {
  endpointId(): string;
  agentTopic(): string;
  controllerId: string;
  controllerTopic: string;
  /** TR-181 MTP Protocol of the agents: MQTT, WebSocket or STOMP. */
  mtpProtocol?: string | undefined;
}

/** (ctx, row numbers from the outermost table in, salt of the concrete parameter) */
export type ValueFn = (ctx: EvalContext, inst: readonly number[], salt: number) => string;

/** A moving value (`gen:`): a pure function of the context and the concrete parameter's salt. */
export type Generator = (ctx: EvalContext, salt: number) => string;
