// The one handler type every USP request handler shares: a pure function of
// the decoded request and the agent's context, returning the Response body or an Error.
// Handlers never throw for a controller's bad input: that is a USP error code (TR-369 "Error Codes").
import { answerCap, MAX_NAMES_PER_REQUEST } from '../../datamodel/limits.js';
import type { Template } from '../../datamodel/schema.js';
import type { CpeView } from '../../datamodel/view.js';
import type { Request, RequestType, Response, StrMap, UspError } from '../types.js';

/** What a handler changed in the data model, for subscriptions and device side effects. */
export interface UspChangeSink {
  /** A parameter was written (value as stored, canonical form). */
  valueSet(path: string, value: string): void;
  /** A row was created: its instance path (ends in '.') and its unique keys. */
  objectCreated(path: string, uniqueKeys: StrMap): void;
  /** A row was deleted: its instance path (ends in '.'). */
  objectDeleted(path: string): void;
}

/** The commands (Operate) side of an agent; implemented by the shard's agent host. */
export interface UspCommandHost {
  /**
   * Run the command at concrete path `command` (ends in "()", e.g. "Device.Reboot()").
   * Sync commands answer output args; async ones answer the Request row they created.
   */
  run(command: string, commandKey: string, inputArgs: StrMap, sendResp: boolean):
    | { kind: 'output'; outputArgs: StrMap }
    | { kind: 'async'; requestPath: string }
    | { kind: 'failure'; errCode: number; errMsg: string };
}

export interface UspContext {
  /** The CPE's data model; writes create its overlay (the caller keeps it afterwards). */
  view: CpeView;
  /** Endpoint ID of the controller that sent the request. */
  controllerId: string;
  /**
   * Reference to that controller's row, e.g. "Device.LocalAgent.Controller.1" (what the
   * agent writes into Subscription.{i}.Recipient and Request.{i}.Originator).
   */
  controllerRef: string;
  /** Epoch ms. */
  now: number;
  changes: UspChangeSink;
  commands: UspCommandHost;
}

export type HandlerResult = { kind: 'response'; response: Response } | { kind: 'error'; error: UspError };

export type UspHandler<K extends RequestType> = (
  req: Extract<Request, { req_type: K }> extends infer R ? (R extends Record<K, infer B> ? B : never) : never,
  ctx: UspContext,
) => HandlerResult;

export const uspError = (err_code: number, err_msg: string, param_errs: UspError['param_errs'] = []): HandlerResult => ({
  kind: 'error',
  error: { err_code, err_msg, param_errs },
});

/**
 * The bound on a read (docs/usp-behaviour.md "Limits"): Error 7005 when a request names
 * more than MAX_NAMES_PER_REQUEST paths, or when its answer would carry more than
 * answerCap() `unit`; `count(path, left)` counts one path's share, stopping past `left`.
 * Counted before anything is built; undefined when the request fits.
 */
export function overAnswerCap(what: string, paths: readonly string[], template: Template, unit: string, count: (path: string, left: number) => number): HandlerResult | undefined {
  if (paths.length > MAX_NAMES_PER_REQUEST) return uspError(7005, `Resources exceeded: ${paths.length} paths in one ${what}, at most ${MAX_NAMES_PER_REQUEST}`);
  const cap = answerCap(template);
  let n = 0;
  for (const p of paths) {
    n += count(p, cap - n);
    if (n > cap) return uspError(7005, `Resources exceeded: the ${what} would ${unit.replace('{cap}', String(cap))}`);
  }
  return undefined;
}
