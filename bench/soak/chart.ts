// A small terminal line chart: one column per bucket of samples (its maximum), rows from max to min.

export interface Point { t: number; v: number }

export function chart(title: string, points: Point[], fmt: (v: number) => string, width = 60, height = 8): string {
  if (points.length === 0) return `${title}: no samples`;
  const cols = Math.min(width, points.length);
  const t0 = points[0]!.t;
  const span = Math.max(1, points[points.length - 1]!.t - t0);
  const bucket: number[] = new Array<number>(cols).fill(NaN);
  for (const p of points) {
    const c = Math.min(cols - 1, Math.floor(((p.t - t0) / span) * cols));
    bucket[c] = Number.isNaN(bucket[c]!) ? p.v : Math.max(bucket[c]!, p.v);
  }
  for (let i = 1; i < cols; i++) if (Number.isNaN(bucket[i]!)) bucket[i] = bucket[i - 1]!;
  const min = Math.min(...points.map((p) => p.v));
  const max = Math.max(...points.map((p) => p.v));
  const range = max - min || 1;
  const lw = Math.max(fmt(max).length, fmt(min).length);
  const lines = [title];
  for (let row = height - 1; row >= 0; row--) {
    const label = row === height - 1 ? fmt(max) : row === 0 ? fmt(min) : '';
    // A column's level in rows (0 at the minimum, height at the maximum); half rows as ▄, the minimum as ▁.
    const cells = bucket.map((v) => {
      const level = ((v - min) / range) * height;
      return level >= row + 1 ? '█' : level >= row + 0.5 ? '▄' : row === 0 ? '▁' : ' ';
    }).join('');
    lines.push(`${label.padStart(lw)} ┤${cells}`);
  }
  lines.push(`${''.padStart(lw)} └${'─'.repeat(cols)}`);
  lines.push(`${''.padStart(lw)}  0 s${`${Math.round(span / 1000)} s`.padStart(cols - 3)}`);
  return lines.join('\n');
}
