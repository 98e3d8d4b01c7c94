// The compiled, immutable template of a profile: one per shard, shared by every CPE.
import type { Generator, ValueFn } from './context.js';
import type { XsdType } from './values.js';

export type ActiveNotify = 'normal' | 'forceEnabled' | 'forceDefaultEnabled' | 'canDeny';

export interface ParamNode {
  kind: 'param';
  name: string;
  /** Schema path with `{i}` for rows, e.g. Device.WiFi.Radio.{i}.Channel */
  path: string;
  /** Stable salt for deterministic draws (hash of the schema path). */
  salt: number;
  type: XsdType;
  writable: boolean;
  hidden: boolean;
  forcedInform: boolean;
  notify: 0 | 1 | 2;
  activeNotify: ActiveNotify;
  value: ValueFn;
  gen: Generator | undefined;
  enumValues: readonly string[] | undefined;
  range: readonly [number, number] | undefined;
  maxLength: number | undefined;
  /** Set on an auto-generated or declared XNumberOfEntries: the table it counts. */
  counts: ObjectNode | undefined;
}

export interface ObjectNode {
  kind: 'object';
  name: string;
  /** Schema path ending in '.', rows as `{i}.`: Device.WiFi.Radio.{i}. */
  path: string;
  salt: number;
  /** A multi-instance table: the next segment of a concrete path is a row number. */
  multi: boolean;
  /** Rows may be added and deleted by the ACS. */
  writable: boolean;
  /** Default rows per CPE (drawn in [min, max] per table instance). */
  instances: { min: number; max: number };
  /** Number of `{i}` segments in `path`. */
  depth: number;
  children: Map<string, SchemaNode>;
  /** Children in declaration order, for stable walks. */
  childList: SchemaNode[];
  parent: ObjectNode | undefined;
}

export type SchemaNode = ParamNode | ObjectNode;

export interface Template {
  root: ObjectNode;
  rootName: string;
  /** Every parameter with forcedInform, in declaration order. */
  forcedInform: ParamNode[];
  paramCount: number;
}
