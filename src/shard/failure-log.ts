// Failures by reason, and at most one warning per reason per period (with how many of that
// reason it did not log since), so a fleet that loses its ACS, its broker or its file
// descriptors says why at warn level without flooding the log.
export class FailureLog {
  readonly reasons: Record<string, number> = {};
  /** Failed sessions that got an HTTP answer, by status code. */
  readonly statuses: Record<string, number> = {};
  /** Retries moved later by the ACS's Retry-After. */
  retryAfterHonored = 0;
  private readonly lastWarn = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly warn: (msg: string, extra: Record<string, unknown>) => void,
    private readonly message = 'session failed',
    private readonly periodMs = 10_000,
  ) {}

  record(now: number, cpe: number, reason: string, detail: string, status?: number): void {
    this.reasons[reason] = (this.reasons[reason] ?? 0) + 1;
    if (status !== undefined) this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    const last = this.lastWarn.get(reason);
    if (last && now - last.at < this.periodMs) {
      last.suppressed++;
      return;
    }
    this.warn(this.message, { cpe, reason, detail, moreSinceLastWarning: last?.suppressed ?? 0 });
    this.lastWarn.set(reason, { at: now, suppressed: 0 });
  }
}
