/** SVG path of a sparkline: `values` over `times` (ms) from `from` to `to`, scaled to `max` (or the
 * largest value). A gap (null, or more than `gapMs` between points) breaks the line instead of
 * drawing across a time the Node was away. Returns "" when there is nothing to draw. */
export function sparklinePath(
  points: ReadonlyArray<{ t: number; v: number | null }>,
  box: { width: number; height: number; from: number; to: number; max?: number; gapMs: number },
): string {
  const values = points.flatMap((p) => (p.v === null ? [] : [p.v]));
  if (values.length === 0) return "";
  const max = box.max ?? Math.max(...values, 0.0001);
  const span = Math.max(box.to - box.from, 1);
  const x = (t: number) => (((t - box.from) / span) * box.width).toFixed(1);
  const y = (v: number) => (box.height - (Math.min(v, max) / max) * box.height).toFixed(1);
  let d = "";
  let last: number | null = null;
  for (const p of points) {
    if (p.v === null) {
      last = null;
      continue;
    }
    const move = last === null || p.t - last > box.gapMs;
    d += `${move ? "M" : "L"}${x(p.t)},${y(p.v)} `;
    // A lone point still shows: a short flat stroke.
    if (move) d += `l1.5,0 `;
    last = p.t;
  }
  return d.trim();
}
