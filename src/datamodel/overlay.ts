// What one CPE has that differs from the template (ARCHITECTURE.md, "A CPE's state").
// A CPE nobody has touched has no overlay at all.

export interface TableRows {
  /** Live row numbers, ascending. */
  rows: number[];
  /** Next row number AddObject hands out; numbers are never reused (TR-369 R-ARC.8). */
  next: number;
}

export interface Attr {
  notification: number;
  accessList: string[];
}

export interface Overlay {
  /** Concrete parameter path -> value set by the ACS. */
  values: Map<string, string> | undefined;
  /** Concrete table path (ends in '.') -> rows, once rows were added or deleted. */
  tables: Map<string, TableRows> | undefined;
  /** Concrete parameter path -> attributes that differ from the template's. */
  attrs: Map<string, Attr> | undefined;
}

export function emptyOverlay(): Overlay {
  return { values: undefined, tables: undefined, attrs: undefined };
}

export function isEmptyOverlay(o: Overlay): boolean {
  return !o.values?.size && !o.tables?.size && !o.attrs?.size;
}

/** Drop everything at or below `prefix` (a concrete object path ending in '.'). */
export function purgePrefix(o: Overlay, prefix: string): void {
  for (const m of [o.values, o.tables, o.attrs]) {
    if (!m) continue;
    for (const k of m.keys()) if (k.startsWith(prefix)) m.delete(k);
  }
}
