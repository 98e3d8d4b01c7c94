// TLS client settings the agents' MTP connections share (wss://, stomps://): one
// SecureContext per (CA, certificate, key), since parsing PEM per connection would cost
// memory and CPU per agent.
import { createSecureContext, type SecureContext } from 'node:tls';

export interface TlsFiles {
  /** PEM CA bundle the peer's certificate must chain to (default: the system store). */
  ca?: string | undefined;
  /** PEM client certificate and its key, for a peer that asks for one. */
  cert?: string | undefined;
  key?: string | undefined;
}

const contexts = new Map<string, SecureContext>();

/** The shared context for these files; undefined when none is given (Node's defaults). */
export function secureContextOf(t: TlsFiles): SecureContext | undefined {
  if (t.ca === undefined && t.cert === undefined && t.key === undefined) return undefined;
  const id = `${t.ca ?? ''}\u0000${t.cert ?? ''}\u0000${t.key ?? ''}`;
  let ctx = contexts.get(id);
  if (ctx === undefined) {
    ctx = createSecureContext({ ...(t.ca !== undefined ? { ca: t.ca } : {}), ...(t.cert !== undefined ? { cert: t.cert } : {}), ...(t.key !== undefined ? { key: t.key } : {}) });
    contexts.set(id, ctx);
  }
  return ctx;
}
