// Failed sessions by reason, and a warning per period rather than per failure, so a fleet
// that loses its ACS says why without flooding the log.
export class FailureLog {
  readonly reasons: Record<string, number> = {};
  /** Failed sessions that got an HTTP answer, by status code. */
  readonly statuses: Record<string, number> = {};
  /** Retries moved later by the ACS's Retry-After. */
  retryAfterHonored = 0;
  private lastWarn = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly warn: (msg: string, extra: Record<string, unknown>) => void,
    private readonly periodMs = 5000,
  ) {}

  record(now: number, cpe: number, reason: string, detail: string, status?: number): void {
    this.reasons[reason] = (this.reasons[reason] ?? 0) + 1;
    if (status !== undefined) this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    if (now - this.lastWarn < this.periodMs) {
      this.suppressed++;
      return;
    }
    this.warn('session failed', { cpe, reason, detail, moreSinceLastWarning: this.suppressed });
    this.lastWarn = now;
    this.suppressed = 0;
  }
}
