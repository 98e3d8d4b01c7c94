// Size limits every protocol applies to what a peer asks of a CPE's data model, so that
// the cost of a request is bounded before it is paid (docs/cwmp-behaviour.md "Limits",
// docs/usp-behaviour.md "Limits", README "Limits"). Protocol-neutral: each protocol maps
// a limit it hits to its own fault (CWMP 9004, USP 7005).
import type { ObjectNode, Template } from './schema.js';

/** Names (or paths) one request may carry: a GetParameterValues, a USP Get or GetSupportedDM... */
export const MAX_NAMES_PER_REQUEST = 1000;

/**
 * The longest value a string-like parameter (string, base64, hexBinary) takes when its
 * profile declares no maxLength: TR-106 leaves an unsized string unbounded, a device's
 * storage does not.
 */
export const DEFAULT_MAX_STRING_LENGTH = 65_535;

/** How many times a profile's full tree one answer may carry (several partial paths overlap). */
export const ANSWER_TREES = 4;

/** Answers are never capped below this many entries, whatever the profile's size. */
export const MIN_ANSWER_CAP = 10_000;

const treeSizes = new WeakMap<Template, number>();

/**
 * Parameters plus objects of the template's tree with every table at its profile's
 * maximum row count (at least one row): the size of a full answer about one CPE.
 */
export function fullTreeSize(template: Template): number {
  let n = treeSizes.get(template);
  if (n === undefined) {
    n = sizeOf(template.root);
    treeSizes.set(template, n);
  }
  return n;
}

function sizeOf(obj: ObjectNode): number {
  let n = 1;
  for (const c of obj.childList) {
    if (c.kind === 'param') n += 1;
    else n += c.multi ? 1 + Math.max(1, c.instances.max) * sizeOf(c) : sizeOf(c);
  }
  return n;
}

/**
 * The most entries (parameters, names, objects, instances) one answer may carry:
 * ANSWER_TREES full trees, at least MIN_ANSWER_CAP. Counted before the answer is built.
 */
export function answerCap(template: Template): number {
  return Math.max(MIN_ANSWER_CAP, ANSWER_TREES * fullTreeSize(template));
}
