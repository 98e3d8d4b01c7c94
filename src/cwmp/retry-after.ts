// The Retry-After header of an HTTP answer (RFC 9110 10.2.3): either delta-seconds (a
// non-negative integer) or an HTTP-date. The CPE's retry after a 503 or 429 is no sooner
// than it asks (docs/cwmp-behaviour.md "Retry-After").

/**
 * When the ACS asked to be tried again, as epoch ms on the CPE's clock `now`, or
 * undefined when the value is neither form (the header is then ignored, as RFC 9110 lets a
 * recipient do with an invalid field).
 */
export function retryAfterAt(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return now + Number(v) * 1000;
  // HTTP-date: IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), or the obsolete RFC 850 and asctime forms.
  if (!/^[A-Za-z]{3,9},? /.test(v)) return undefined;
  const at = Date.parse(/GMT$|UTC$/.test(v) ? v : `${v} GMT`);
  return Number.isFinite(at) ? at : undefined;
}
