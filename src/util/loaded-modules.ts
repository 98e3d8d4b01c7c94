// The scripts this thread has loaded, as V8 itself lists them: a Debugger.enable on an
// in-thread inspector session reports every script already parsed (Debugger.scriptParsed),
// ES modules and CommonJS files alike, Node's own modules as node:<name>. Asked for on
// demand only (the debugger is on for the length of this call), so a test can pin which
// code a shard thread holds, e.g. that a CWMP-only fleet loads no USP, MQTT or XMPP code.
import { Session } from 'node:inspector';
import { fileURLToPath } from 'node:url';

/**
 * Sorted, without duplicates: files as paths relative to `root` (outside it: absolute), and
 * Node's public modules as `node:<name>` (its internal ones are left out).
 */
export function loadedModules(root: string): string[] {
  const session = new Session();
  session.connect();
  const seen = new Set<string>();
  session.on('Debugger.scriptParsed', ({ params }) => {
    const url = params.url;
    if (url === '' || url.startsWith('node:internal/')) return;
    const path = url.startsWith('file:') ? fileURLToPath(url) : url;
    seen.add(path.startsWith(root) ? path.slice(root.length) : path);
  });
  try {
    // A same-thread session answers synchronously: every scriptParsed event has come by now.
    session.post('Debugger.enable');
    session.post('Debugger.disable');
  } finally {
    session.disconnect();
  }
  return [...seen].sort();
}
