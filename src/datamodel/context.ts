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
  /** The shard's UDP connection-request endpoint (TR-069 Annex G, TR-111 part 2), when it has one. */
  udpCr?: UdpCrFacts | undefined;
  /** XMPP connection-request settings (--xmpp-*), when the fleet turns XMPP on. */
  xmpp?: XmppDefaults | undefined;
}

/** What a CPE publishes about its UDP connection-request address and STUN. */
export interface UdpCrFacts {
  /** host:port the ACS sends UDP connection requests to ('' while STUN has not learned it). */
  address(): string;
  /** The STUN-mapped address differs from the socket's own. */
  natDetected(): boolean;
  /** --stun-server's host ('' when unset: the ACS URL's host is used, TR-181). */
  stunServerAddress: string;
  stunServerPort: number;
}

/** What the {{xmpp...}} template names read (docs/profiles.md). */
export interface XmppDefaults {
  serverAddress: string;
  serverPort: number;
  domain: string;
  username(): string;
  password(): string;
  allowedJids: string;
  useTls: boolean;
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
