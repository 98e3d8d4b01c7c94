// prom-client's classes this project uses, from their own files rather than the package's
// index: the index also loads the Pushgateway client (node:http, node:https) and the default
// process metrics, whose CPU metric pulls in @opentelemetry/api (51 modules); none is used
// here. That is ~1 MB of heap in every thread that keeps metrics (main and each shard).
// prom-client is pinned to an exact version in package.json, so these paths hold.
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry.js') as typeof Prom.Registry;
export const Counter = require('prom-client/lib/counter.js') as typeof Prom.Counter;
export const Gauge = require('prom-client/lib/gauge.js') as typeof Prom.Gauge;
export const Histogram = require('prom-client/lib/histogram.js') as typeof Prom.Histogram;
export const AggregatorRegistry = require('prom-client/lib/cluster.js') as typeof Prom.AggregatorRegistry;
export type Registry = Prom.Registry;
export type Counter<T extends string = string> = Prom.Counter<T>;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export type Histogram<T extends string = string> = Prom.Histogram<T>;
export type AggregatorRegistry<T extends Prom.RegistryContentType = Prom.PrometheusContentType> = Prom.AggregatorRegistry<T>;
