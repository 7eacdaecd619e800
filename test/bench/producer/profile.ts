// CPU profile of a kafkarx run: self time per function inside the measured window.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { projectRoot } from '../../broker/paths.ts';
import { fmtN as fmt } from './plan.ts';
import { table } from './report.ts';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; samples: number[]; timeDeltas: number[] }

export function profileReport(file: string, windowUs: [number, number]): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const root = projectRoot();
  const self = new Map<string, number>();
  const groups = new Map<string, number>();
  let t = p.startTime;
  let total = 0;
  // The profile's clock is the monotonic one process.hrtime reads; when the window does not fall
  // inside the profile (another clock), the whole profile counts rather than nothing.
  const inWindow = windowUs[0] >= p.startTime && windowUs[0] < p.startTime + p.timeDeltas.reduce((a, b) => a + b, 0);
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    // A delta is the time since the previous sample, spent where the next sample landed.
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (inWindow && (t < windowUs[0] || t > windowUs[1])) continue;
    const n = byId.get(p.samples[i])!;
    const { functionName, url, lineNumber } = n.callFrame;
    const where = url.startsWith('file://') ? relative(root, decodeURI(url.slice(7))) : url;
    const name = `${functionName || '(anonymous)'}  ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
    self.set(name, (self.get(name) ?? 0) + dt);
    groups.set(group(where, functionName), (groups.get(group(where, functionName)) ?? 0) + dt);
    total += dt;
  }
  const pct = (us: number) => `${fmt((100 * us) / total, 1)} %`;
  const ms = (us: number) => fmt(us / 1000);
  console.log(`\nCPU profile of one kafkarx run (fromPullSource, acks=1, no compression): ${relative(root, file)}` +
    `\n${inWindow ? 'measured window only' : 'whole process (the window could not be located)'}: ${ms(total)} ms of samples`);
  table('Self time by origin', ['origin', 'ms', 'share'], [...groups].sort((a, b) => b[1] - a[1]).map(([g, us]) => [g, ms(us), pct(us)]));
  const ours = [...self].filter(([k]) => / (src|operators)\//.test(k)).sort((a, b) => b[1] - a[1]).slice(0, 25);
  table('Top self time in kafkarx (src/, operators/)', ['function  file:line', 'ms', 'share'], ours.map(([k, us]) => [k, ms(us), pct(us)]));
  const all = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25);
  table('Top self time overall', ['function  file:line', 'ms', 'share'], all.map(([k, us]) => [k, ms(us), pct(us)]));
}

function group(where: string, fn: string): string {
  if (where.startsWith('src/')) return 'kafkarx src/';
  if (where.startsWith('operators/')) return 'kafkarx operators/';
  if (where.startsWith('test/')) return 'benchmark (test/bench)';
  if (where.includes('node_modules/rxjs/')) return 'rxjs';
  if (where.includes('node_modules/')) return 'other node_modules';
  if (where.startsWith('node:')) return 'Node.js (node:*)';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)' || fn === '(idle)' || fn === '(root)') return fn;
  return where ? 'other' : 'native / V8 builtins';
}
