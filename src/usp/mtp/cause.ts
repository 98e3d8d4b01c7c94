// What kind of failure a socket error is, for the MTPs' failure reasons (metrics label `cause`).
import { isFdExhaustion } from '../../util/fds.js';
import type { MqttFailCause } from '../diagnostics.js';

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EADDRNOTAVAIL']);

/** A socket error as a failure cause: out of descriptors, could not connect, or other. */
export function causeOf(e: NodeJS.ErrnoException): MqttFailCause {
  if (isFdExhaustion(e.code)) return 'descriptors';
  if (e.code !== undefined && CONNECT_CODES.has(e.code)) return 'connect';
  return 'error';
}
