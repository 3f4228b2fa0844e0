/** Plain columns, padded to the widest cell; the last column is never padded (no trailing blanks).
 * `colour` may decorate a cell after it is measured, so escape codes never skew the widths. */
export function table(
  headers: string[],
  rows: string[][],
  colour: (column: number, cell: string) => string = (_c, cell) => cell,
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const render = (cells: string[], decorate: boolean) =>
    cells
      .map((cell, i) => {
        const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i]!);
        return decorate && cell ? padded.replace(cell, colour(i, cell)) : padded;
      })
      .join("  ")
      .trimEnd();
  return [render(headers, false), ...rows.map((r) => render(r, true))].join("\n") + "\n";
}

/** "3m 12s" from two ISO times; "" when the run has not started. */
export function duration(from: string | null | undefined, to: string | null | undefined, now = Date.now()): string {
  if (!from) return "";
  const ms = (to ? Date.parse(to) : now) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** "2026-12-07 01:02:03" in UTC: sortable, and the same on every machine. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace("T", " ").slice(0, 19);
}
