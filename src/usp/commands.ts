// The commands an agent runs for Operate (TR-369 "Asynchronous Operations"; TR-181
// Device.DeviceInfo.FirmwareImage.{i}): Device.Reboot() and Device.FactoryReset() (sync), and
// DeviceInfo.FirmwareImage.{i}.Download() / Activate() (async: a
// Device.LocalAgent.Request.{i} row, an OperationComplete notification, TransferComplete!),
// Request.{i}.Cancel() and Controller.{i}.SendOnBoardRequest(). Only an agent with a
// command in flight holds anything here.
import { isoSeconds } from '../datamodel/datetime.js';
import type { CpeView } from '../datamodel/view.js';
import type { Clock } from '../scheduler/clock.js';
import type { UspCommandHost } from './handlers/handler.js';
import type { DeepPartial, OperationComplete, StrMap } from './types.js';

/** What FirmwareImage.{i}.Download() asks the device to fetch. */
export interface ImageFetch {
  method: 'GET';
  url: string;
  username: string;
  password: string;
  /** Expected size in bytes (0: unknown). */
  fileSize?: number;
}

export type BootCause = 'LocalReboot' | 'RemoteReboot' | 'FactoryReset' | 'LocalFactoryReset' | 'RemoteFactoryReset';

type OperComplete = DeepPartial<OperationComplete>;

export interface CommandsHost {
  clock: Clock;
  view(l: number): CpeView;
  keep(l: number, view: CpeView): void;
  reboot(l: number, factoryReset: boolean, cause: BootCause, commandKey: string): void;
  /** Powered and not in a reboot's dark window. */
  poweredOn(l: number): boolean;
  emitEvent(l: number, objPath: string, name: string, params: StrMap): void;
  emitOperationComplete(l: number, oc: OperComplete): void;
  sendOnBoardRequest(l: number): void;
  firmware: {
    writeBank(l: number, bank: 1 | 2, version: string): void;
    activateBank(l: number, bank: 1 | 2): void;
    versionForUrl(url: string): string;
  };
  /**
   * Start a TR-143 test for Device.IP.Diagnostics.<Test>() (docs/diagnostics.md): its outputs
   * (Status and the rest, in TR-181 names) go to `done`, which is not called once it is
   * canceled. A refusal carries its USP error.
   */
  diagnostic(l: number, command: string, args: StrMap, done: (outputs: StrMap) => void): { ok: true; start: () => void; cancel: () => void } | { ok: false; errCode: number; errMsg: string };
  /** A real GET of the image (or an instant success with --transfers skip); never rejects. */
  transfer(spec: ImageFetch): Promise<{ ok: true; bytes: number } | { ok: false; fault: { code: number; message: string } }>;
}

interface AsyncRequest {
  /** Device.LocalAgent.Request.{n}. */
  row: string;
  objPath: string;
  /** Relative name: Download(), Activate(), IPPing()... */
  command: string;
  commandKey: string;
  /** FirmwareImage commands: the bank. */
  bank: 1 | 2;
  done: boolean;
  /** Stops the work behind it (a diagnostic's test) on Cancel() or a power loss. */
  stop?: () => void;
}

const REQUEST_TABLE = 'Device.LocalAgent.Request.';
const FIRMWARE = /^Device\.DeviceInfo\.FirmwareImage\.([12])\.(Download|Activate)\(\)$/;
const CANCEL = /^(Device\.LocalAgent\.Request\.\d+\.)Cancel\(\)$/;
const DIAGNOSTIC = /^(Device\.IP\.Diagnostics\.)(IPPing|TraceRoute|DownloadDiagnostics|UploadDiagnostics|UDPEchoDiagnostics|ServerSelectionDiagnostics)\(\)$/;
const ONBOARD = /^Device\.LocalAgent\.Controller\.\d+\.SendOnBoardRequest\(\)$/;

export class UspCommands {
  private readonly inFlight = new Map<number, AsyncRequest[]>();
  /** Work to start once the current response is on the wire (a reboot must not beat its OperateResp). */
  private readonly deferred = new Map<number, Array<() => void>>();
  /** Completions reported after the next boot (Activate() reboots to finish). */
  private readonly afterBoot = new Map<number, OperComplete[]>();

  constructor(private readonly host: CommandsHost) {}

  /** The Operate side of one request, for the handler. */
  hostFor(l: number, controllerRef: string): UspCommandHost {
    return { run: (command, commandKey, inputArgs) => this.run(l, controllerRef, command, commandKey, inputArgs) };
  }

  private later(l: number, fn: () => void): void {
    const list = this.deferred.get(l) ?? [];
    list.push(fn);
    this.deferred.set(l, list);
  }

  /** Run what the last request deferred (called after its response was sent). */
  flush(l: number): void {
    const list = this.deferred.get(l);
    if (!list) return;
    this.deferred.delete(l);
    for (const fn of list) {
      // One of them rebooted the CPE (Activate() on several banks): the rest died with the power.
      if (!this.host.poweredOn(l)) return;
      fn();
    }
  }

  private run(l: number, controllerRef: string, command: string, commandKey: string, args: StrMap): ReturnType<UspCommandHost['run']> {
    if (command === 'Device.Reboot()') {
      this.later(l, () => this.host.reboot(l, false, 'RemoteReboot', commandKey));
      return { kind: 'output', outputArgs: {} };
    }
    if (command === 'Device.FactoryReset()') {
      this.later(l, () => this.host.reboot(l, true, 'RemoteFactoryReset', commandKey));
      return { kind: 'output', outputArgs: {} };
    }
    if (ONBOARD.test(command)) {
      this.later(l, () => this.host.sendOnBoardRequest(l));
      return { kind: 'output', outputArgs: {} };
    }
    const cancel = CANCEL.exec(command);
    if (cancel) return this.cancel(l, cancel[1]!);
    const fw = FIRMWARE.exec(command);
    if (fw) return this.firmware(l, controllerRef, Number(fw[1]) as 1 | 2, fw[2] === 'Download' ? 'Download()' : 'Activate()', commandKey, args);
    const diag = DIAGNOSTIC.exec(command);
    if (diag) return this.diagnostic(l, controllerRef, command, diag[1]!, `${diag[2]!}()`, commandKey, args);
    return { kind: 'failure', errCode: 7026, errMsg: `Unsupported command ${command}` };
  }

  /** A TR-143 test (TR-181 Device.IP.Diagnostics.<Test>()): a Request row until OperationComplete carries its outputs. */
  private diagnostic(l: number, controllerRef: string, command: string, objPath: string, name: string, commandKey: string, args: StrMap): ReturnType<UspCommandHost['run']> {
    const v = this.host.view(l);
    if (!v.resolve(REQUEST_TABLE)) return { kind: 'failure', errCode: 7022, errMsg: 'This profile has no Device.LocalAgent.Request table' };
    let req: AsyncRequest | undefined;
    const started = this.host.diagnostic(l, command, args, (outputs) => {
      if (req && !req.done) this.finish(l, req, undefined, outputs);
    });
    if (!started.ok) return { kind: 'failure', errCode: started.errCode, errMsg: started.errMsg };
    const n = v.deviceAddRow(REQUEST_TABLE, { Originator: controllerRef, Command: command, CommandKey: commandKey, Status: 'Active' })!;
    this.host.keep(l, v);
    req = { row: `${REQUEST_TABLE}${n}.`, objPath, command: name, commandKey, bank: 1, done: false, stop: started.cancel };
    const list = this.inFlight.get(l) ?? [];
    list.push(req);
    this.inFlight.set(l, list);
    // The test starts once the OperateResp is out, so OperationComplete cannot overtake it.
    this.later(l, started.start);
    return { kind: 'async', requestPath: req.row.slice(0, -1) };
  }

  private firmware(l: number, controllerRef: string, bank: 1 | 2, command: 'Download()' | 'Activate()', commandKey: string, args: StrMap): ReturnType<UspCommandHost['run']> {
    const objPath = `Device.DeviceInfo.FirmwareImage.${bank}.`;
    let start: (req: AsyncRequest) => void;
    if (command === 'Download()') {
      // TR-181 FirmwareImage.{i}.Download(): URL and AutoActivate are mandatory.
      const url = args['URL'];
      const auto = args['AutoActivate'];
      if (!url) return { kind: 'failure', errCode: 7027, errMsg: 'Download(): missing mandatory input URL' };
      if (auto === undefined || !/^(true|false|1|0)$/.test(auto)) return { kind: 'failure', errCode: 7027, errMsg: 'Download(): mandatory input AutoActivate must be a boolean' };
      try {
        const u = new URL(url);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(u.protocol);
      } catch {
        return { kind: 'failure', errCode: 7027, errMsg: `Download(): unsupported URL ${JSON.stringify(url)}` };
      }
      start = (req) =>
        void this.download(l, req, url, args['Username'] ?? '', args['Password'] ?? '', Number(args['FileSize']) || 0, auto === 'true' || auto === '1').catch((e: unknown) => {
          // A bug here costs this command (7003), never the shard.
          if (!req.done) this.finish(l, req, { err_code: 7003, err_msg: `Internal error: ${(e as Error).message}` });
        });
    } else {
      start = (req) => this.activate(l, req);
    }
    const v = this.host.view(l);
    const n = v.deviceAddRow(REQUEST_TABLE, { Originator: controllerRef, Command: objPath + command, CommandKey: commandKey, Status: 'Active' });
    if (n === undefined) return { kind: 'failure', errCode: 7022, errMsg: 'This profile has no Device.LocalAgent.Request table' };
    this.host.keep(l, v);
    const req: AsyncRequest = { row: `${REQUEST_TABLE}${n}.`, objPath, command, commandKey, bank, done: false };
    const list = this.inFlight.get(l) ?? [];
    list.push(req);
    this.inFlight.set(l, list);
    this.later(l, () => start(req));
    // TR-369 OperateResp req_obj_path names the Request object without a trailing dot (obuspa too).
    return { kind: 'async', requestPath: req.row.slice(0, -1) };
  }

  private async download(l: number, req: AsyncRequest, url: string, username: string, password: string, fileSize: number, autoActivate: boolean): Promise<void> {
    const started = this.host.clock.now();
    const out = await this.host.transfer({ method: 'GET', url, username, password, fileSize });
    if (req.done) return; // canceled, reset or rebooted meanwhile
    const fault = out.ok ? { code: 0, message: '' } : out.fault;
    if (out.ok) this.host.firmware.writeBank(l, req.bank, this.host.firmware.versionForUrl(url));
    this.finish(l, req, out.ok ? undefined : { err_code: 7022, err_msg: `Download failed: ${fault.message} (TR-069 fault ${fault.code})` });
    this.host.emitEvent(l, 'Device.LocalAgent.', 'TransferComplete!', {
      Command: req.objPath + req.command,
      CommandKey: req.commandKey,
      Requestor: this.host.view(l).get(`${req.row}Originator`) ?? '',
      TransferType: 'Download',
      Affected: req.objPath,
      TransferURL: url,
      StartTime: isoSeconds(started),
      CompleteTime: isoSeconds(this.host.clock.now()),
      FaultCode: String(fault.code),
      FaultString: fault.message,
    });
    if (out.ok && autoActivate) {
      this.host.firmware.activateBank(l, req.bank);
      this.host.reboot(l, false, 'RemoteReboot', '');
    }
  }

  /** Activate() boots the bank; the request completes once the new image is up. */
  private activate(l: number, req: AsyncRequest): void {
    this.host.firmware.activateBank(l, req.bank);
    const list = this.afterBoot.get(l) ?? [];
    list.push({ obj_path: req.objPath, command_name: req.command, command_key: req.commandKey, req_output_args: { output_args: {} } });
    this.afterBoot.set(l, list);
    req.done = true;
    this.removeRow(l, req);
    this.host.reboot(l, false, 'RemoteReboot', '');
  }

  private cancel(l: number, row: string): ReturnType<UspCommandHost['run']> {
    const req = this.inFlight.get(l)?.find((r) => r.row === row);
    if (!req) return { kind: 'failure', errCode: 7016, errMsg: `No command in progress at ${row}` };
    // TR-369 7023 Command canceled.
    req.stop?.();
    this.finish(l, req, { err_code: 7023, err_msg: 'Command canceled' });
    return { kind: 'output', outputArgs: {} };
  }

  private finish(l: number, req: AsyncRequest, failure: { err_code: number; err_msg: string } | undefined, outputs: StrMap = {}): void {
    req.done = true;
    const v = this.host.view(l);
    v.deviceSet(`${req.row}Status`, failure ? (failure.err_code === 7023 ? 'Canceled' : 'Error') : 'Success');
    this.host.keep(l, v);
    const base = { obj_path: req.objPath, command_name: req.command, command_key: req.commandKey };
    this.host.emitOperationComplete(l, failure ? { ...base, cmd_failure: failure } : { ...base, req_output_args: { output_args: outputs } });
    this.removeRow(l, req);
  }

  /** TR-369 R-OPR.0: the Request row goes once the command has completed. */
  private removeRow(l: number, req: AsyncRequest): void {
    const v = this.host.view(l);
    v.deviceDeleteRow(req.row);
    this.host.keep(l, v);
    const rest = (this.inFlight.get(l) ?? []).filter((r) => r !== req);
    if (rest.length > 0) this.inFlight.set(l, rest);
    else this.inFlight.delete(l);
  }

  /** Going dark: downloads in flight die with the power; their failure is reported after the boot. */
  poweredOff(l: number, factoryReset: boolean): void {
    this.deferred.delete(l);
    const list = this.inFlight.get(l) ?? [];
    this.inFlight.delete(l);
    if (factoryReset) {
      for (const r of list) {
        r.done = true;
        r.stop?.();
      }
      this.afterBoot.delete(l);
      return;
    }
    const after = this.afterBoot.get(l) ?? [];
    for (const r of list) {
      r.done = true;
      r.stop?.();
      after.push({ obj_path: r.objPath, command_name: r.command, command_key: r.commandKey, cmd_failure: { err_code: 7022, err_msg: 'Interrupted by a reboot' } });
      const v = this.host.view(l);
      v.deviceDeleteRow(r.row);
      this.host.keep(l, v);
    }
    if (after.length > 0) this.afterBoot.set(l, after);
  }

  /** After Boot!: report what finished across the reboot. */
  booted(l: number): void {
    const list = this.afterBoot.get(l);
    if (!list) return;
    this.afterBoot.delete(l);
    for (const oc of list) this.host.emitOperationComplete(l, oc);
  }

  inFlightCount(l: number): number {
    return this.inFlight.get(l)?.length ?? 0;
  }
}
