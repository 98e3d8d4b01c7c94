// The TR-143 tests a CPE runs (TR-181 Device.IP.Diagnostics.*, TR-098 IGD.*Diagnostics;
// docs/diagnostics.md): where each lives in either root, its USP command with the input
// and output arguments TR-181 names, and the DiagnosticsState values each root has for
// an outcome. Pure data and lookups; the engine is diagnostics.ts.

import { DIAGNOSTIC_COMMANDS } from '../usp/supported.js';

export const DIAG_TESTS = ['ipPing', 'traceRoute', 'download', 'upload', 'udpEcho', 'serverSelection'] as const;
export type DiagTest = (typeof DIAG_TESTS)[number];

/** Why a test ended; each root and test names it with its own DiagnosticsState value. */
export type DiagOutcome =
  | 'complete'
  /** The host (or every host of a HostList) does not resolve. */
  | 'resolve'
  /** No TCP connection to the server (refused, unreachable, a bad URL or scheme). */
  | 'connect'
  /** The server answered nothing within the time limit (no response head). */
  | 'noResponse'
  /** The transfer broke off or the server refused it (a non-2xx status). */
  | 'transfer'
  /** The whole test ran past its time limit. */
  | 'timeout'
  /** The file is bigger than the device's room for it (settings.maxDownloadBytes). */
  | 'tooBig'
  /** TraceRoute: the host lies further than MaxHopCount. */
  | 'maxHops'
  | 'internal';

export interface DiagTestDef {
  test: DiagTest;
  /** The object in each root (undefined: that root's standard has none). */
  paths: { Device: string; InternetGatewayDevice: string | undefined };
  /** The USP command (TR-181 2.12+) on Device.IP.Diagnostics.; its arguments are src/usp/supported.ts's. */
  command: string;
}

const IPD = 'Device.IP.Diagnostics.';

export const DIAG_DEFS: Readonly<Record<DiagTest, DiagTestDef>> = {
  ipPing: {
    test: 'ipPing',
    paths: { Device: `${IPD}IPPing.`, InternetGatewayDevice: 'InternetGatewayDevice.IPPingDiagnostics.' },
    command: 'IPPing()',
  },
  traceRoute: {
    test: 'traceRoute',
    paths: { Device: `${IPD}TraceRoute.`, InternetGatewayDevice: 'InternetGatewayDevice.TraceRouteDiagnostics.' },
    command: 'TraceRoute()',
  },
  download: {
    test: 'download',
    paths: { Device: `${IPD}DownloadDiagnostics.`, InternetGatewayDevice: 'InternetGatewayDevice.DownloadDiagnostics.' },
    command: 'DownloadDiagnostics()',
  },
  upload: {
    test: 'upload',
    paths: { Device: `${IPD}UploadDiagnostics.`, InternetGatewayDevice: 'InternetGatewayDevice.UploadDiagnostics.' },
    command: 'UploadDiagnostics()',
  },
  udpEcho: {
    test: 'udpEcho',
    paths: { Device: `${IPD}UDPEchoDiagnostics.`, InternetGatewayDevice: undefined },
    command: 'UDPEchoDiagnostics()',
  },
  serverSelection: {
    test: 'serverSelection',
    paths: { Device: `${IPD}ServerSelectionDiagnostics.`, InternetGatewayDevice: undefined },
    command: 'ServerSelectionDiagnostics()',
  },
};

/** A test's input and output argument names (TR-181), as GetSupportedDM declares them. */
export function argsOf(t: DiagTest): { input: readonly string[]; output: readonly string[] } {
  const c = DIAGNOSTIC_COMMANDS.find((x) => x.name === DIAG_DEFS[t].command);
  if (!c) throw new Error(`no command ${DIAG_DEFS[t].command}`);
  return c;
}

/** The USP command path of a test: Device.IP.Diagnostics.IPPing() ... */
export const commandPath = (t: DiagTest): string => `${IPD}${DIAG_DEFS[t].command}`;

/** The test a USP command path names, if any. */
export function testOfCommand(path: string): DiagTest | undefined {
  return DIAG_TESTS.find((t) => commandPath(t) === path);
}

/** The test whose object (in `root`) holds the concrete parameter `path`, with the parameter's name relative to it. */
export function testOfParam(root: 'Device' | 'InternetGatewayDevice', path: string): { test: DiagTest; obj: string; rel: string } | undefined {
  for (const t of DIAG_TESTS) {
    const obj = DIAG_DEFS[t].paths[root];
    if (obj && path.startsWith(obj)) return { test: t, obj, rel: path.slice(obj.length) };
  }
  return undefined;
}

/**
 * What a write of DiagnosticsState may carry: Requested, and Canceled where the model has
 * it (TR-181 2.12+; TR-098 has no Canceled). Anything else is refused (CWMP 9007).
 */
export function writableStates(root: 'Device' | 'InternetGatewayDevice'): readonly string[] {
  return root === 'Device' ? ['Requested', 'Canceled'] : ['Requested'];
}

/**
 * The DiagnosticsState (and USP Status) value of an outcome, as each root's standard
 * names it for that test: TR-098's transfer tests say Completed, its download has no
 * Error_CannotResolveHostName, its upload no Error_TransferFailed or Error_Timeout.
 */
export function stateOf(root: 'Device' | 'InternetGatewayDevice', test: DiagTest, o: DiagOutcome): string {
  const tr098 = root === 'InternetGatewayDevice';
  const transfer = test === 'download' || test === 'upload';
  switch (o) {
    case 'complete':
      return tr098 && transfer ? 'Completed' : 'Complete';
    case 'resolve':
      return tr098 && transfer ? 'Error_InitConnectionFailed' : 'Error_CannotResolveHostName';
    case 'connect':
      return transfer ? 'Error_InitConnectionFailed' : 'Error_Other';
    case 'noResponse':
      return transfer ? 'Error_NoResponse' : 'Error_Other';
    case 'transfer':
      if (test === 'upload') return 'Error_NoTransferComplete';
      return transfer ? 'Error_TransferFailed' : 'Error_Other';
    case 'timeout':
      if (test === 'upload' && tr098) return 'Error_NoTransferComplete';
      return transfer ? 'Error_Timeout' : 'Error_Other';
    case 'tooBig':
      return test === 'download' ? 'Error_IncorrectSize' : tr098 ? 'Error_NoTransferComplete' : 'Error_Other';
    case 'maxHops':
      return 'Error_MaxHopCountExceeded';
    case 'internal':
      return tr098 ? (test === 'download' ? 'Error_TransferFailed' : test === 'upload' ? 'Error_NoTransferComplete' : 'Error_Internal') : 'Error_Internal';
    default: {
      const never: never = o;
      return String(never);
    }
  }
}

/** The TR-098 names of TraceRoute's RouteHops parameters (TR-181 drops the Hop prefix). */
export const HOP_FIELDS = { Device: ['Host', 'HostAddress', 'ErrorCode', 'RTTimes'], InternetGatewayDevice: ['HopHost', 'HopHostAddress', 'HopErrorCode', 'HopRTTimes'] } as const;
