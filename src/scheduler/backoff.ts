// Retry windows, one rule for every retry the CPE makes: CWMP session retries
// (TR-069 Amendment 6 3.2.1.1, CWMPRetryMinimumWaitInterval / CWMPRetryIntervalMultiplier),
// USP Notify retries (TR-369 Controller.USPNotifRetry*) and MQTT reconnects (TR-181
// Device.MQTT.Client.ConnectRetry*). Retry n waits a random time in
// [m·(k/1000)^(n−1), m·(k/1000)^n] seconds; from the 10th retry on, the 10th window
// (docs/cwmp-behaviour.md "Retry windows").

export const DEFAULT_MIN_WAIT = 5;
export const DEFAULT_MULTIPLIER = 2000;

/** A random number in [0, 1); injected so tests can pin where in the window a retry lands. */
export type Random = () => number;

export interface RetryPolicy {
  /** m, seconds (default 5). */
  minWait?: number | undefined;
  /** k, per mille (default 2000: ×2.0). */
  multiplier?: number | undefined;
  /** An upper bound on the delay, ms (MQTT's ConnectRetryMaxInterval). */
  maxMs?: number | undefined;
}

/** The window of retry n, in seconds; n below 1 is the first window. */
export function retryWindow(n: number, minWait = DEFAULT_MIN_WAIT, multiplier = DEFAULT_MULTIPLIER): [number, number] {
  const k = Math.min(Math.max(1, n), 10);
  const f = multiplier / 1000;
  return [minWait * f ** (k - 1), minWait * f ** k];
}

/** Delay in ms before retry n: a random point of its window, capped at policy.maxMs. */
export function retryDelayMs(n: number, policy: RetryPolicy = {}, random: Random = Math.random): number {
  const [lo, hi] = retryWindow(n, policy.minWait || DEFAULT_MIN_WAIT, policy.multiplier || DEFAULT_MULTIPLIER);
  const ms = Math.round((lo + random() * (hi - lo)) * 1000);
  return policy.maxMs !== undefined ? Math.min(policy.maxMs, ms) : ms;
}
