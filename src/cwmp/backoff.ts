// Session retry windows (TR-069 3.2.1.1; docs/cwmp-behaviour.md "Retry windows"): retry n
// waits a random time in [m·(k/1000)^(n−1), m·(k/1000)^n] seconds; from the 10th retry on,
// the 10th window.

export const DEFAULT_MIN_WAIT = 5;
export const DEFAULT_MULTIPLIER = 2000;

export function retryWindow(n: number, minWait = DEFAULT_MIN_WAIT, multiplier = DEFAULT_MULTIPLIER): [number, number] {
  const k = Math.min(Math.max(1, n), 10);
  const f = multiplier / 1000;
  return [minWait * f ** (k - 1), minWait * f ** k];
}

/** Delay in ms before retry n, with u in [0, 1). */
export function retryDelayMs(n: number, u: number, minWait = DEFAULT_MIN_WAIT, multiplier = DEFAULT_MULTIPLIER): number {
  const [lo, hi] = retryWindow(n, minWait, multiplier);
  return Math.round((lo + u * (hi - lo)) * 1000);
}
