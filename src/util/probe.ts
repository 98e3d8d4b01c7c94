// Per-thread resource readings for the bench and for diagnostics: heap after a full GC
// (V8 heap plus external memory such as typed-array backing stores) and libuv handles.
import { readdirSync } from 'node:fs';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface ThreadProbe {
  heapBytes: number;
  handles: number;
}

function gcFn(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  // Without --expose-gc, switch it on for this isolate and fetch it from a new context.
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export function fullGc(): void {
  const gc = gcFn();
  // Twice: the first pass can leave garbage reachable only from weak references.
  gc();
  gc();
}

/** Every libuv resource this thread holds, timers included: a per-CPE timer would show. */
export function activeHandles(): number {
  return process.getActiveResourcesInfo().length;
}

export function probeThread(): ThreadProbe {
  fullGc();
  const h = getHeapStatistics();
  return { heapBytes: h.used_heap_size + h.external_memory, handles: activeHandles() };
}

/** Open file descriptors of the whole process (Linux), or -1 where /proc is absent. */
export function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}
