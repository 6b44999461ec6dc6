// Reads a V8 .cpuprofile (written by `node --cpu-prof`) and lists the functions with the most
// self time, so a slow cell comes with the place to look.
import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
interface CpuProfile { nodes: ProfileNode[]; samples?: number[]; timeDeltas?: number[]; startTime: number; endTime: number }

export interface HotFunction { fn: string; where: string; selfPercent: number }

/**
 * Top functions by self time, as a share of the samples where the process was busy: "(idle)"
 * (waiting in epoll) is left out, since the profile also spans start-up and the gaps between runs.
 */
export function hottest(file: string, window?: { fromUs: number; toUs: number }, top = 15): HotFunction[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byKey = new Map<string, { fn: string; where: string; hits: number }>();
  let total = 0;
  // With a window (CLOCK_MONOTONIC µs, which V8's profile timestamps use on Linux), count only the
  // samples taken while the load was measured: start-up and module compilation are left out.
  let hitsById: Map<number, number> | null = null;
  if (window && prof.samples && prof.timeDeltas) {
    hitsById = new Map();
    let t = prof.startTime;
    for (let i = 0; i < prof.samples.length; i++) {
      t += prof.timeDeltas[i];
      if (t >= window.fromUs && t <= window.toUs) hitsById.set(prof.samples[i], (hitsById.get(prof.samples[i]) ?? 0) + 1);
    }
    if (hitsById.size === 0) hitsById = null; // clocks did not line up: fall back to the whole profile
  }
  for (const n of prof.nodes) {
    const hits = hitsById ? (hitsById.get(n.id) ?? 0) : (n.hitCount ?? 0);
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') continue;
    total += hits;
    const fn = functionName || '(anonymous)';
    // Paths shortened to what identifies them: the package or the file under the repository.
    const short = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, 'dist/');
    const where = short ? `${short}:${lineNumber + 1}` : '(native)';
    const key = `${fn}@${where}`;
    const e = byKey.get(key) ?? { fn, where, hits: 0 };
    e.hits += hits;
    byKey.set(key, e);
  }
  return [...byKey.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((e) => ({ fn: e.fn, where: e.where, selfPercent: total ? (100 * e.hits) / total : 0 }));
}
