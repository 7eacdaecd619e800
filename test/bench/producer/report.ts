// The tables: one per group, Markdown so that they paste into the README as printed. Every figure
// is the median over the interleaved rounds; the last column lists each round's records/s.
import { fmtN as fmt, type Entry, type GroupTable, type Row } from './plan.ts';
import type { RunResult } from './types.ts';

export function table(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log(`\n${title}\n\n${line(header)}\n| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`);
  for (const r of rows) console.log(line(r));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** CPU the rest of the machine used in a run's window (neither the client's process nor the broker), µs. */
export const otherCpuUs = (x: RunResult): number =>
  x.machineCpuUs === undefined || x.brokerCpuUs === undefined ? NaN : Math.max(0, x.machineCpuUs - (x.processCpuUs ?? x.cpuUs) - x.brokerCpuUs);

/** The window `machineCpuUs` covers: the measured one, or a tool's whole life. */
const machineWindowMs = (x: RunResult): number => (x.processCpuUs === undefined ? x.wallMs : x.wallMs + (x.startupWallMs ?? 0));

export interface Summary { recPerSec: number; mbPerSec: number; usPerRec: number; rssMb: number; brokerCores: number; otherCores: number; storedRatio: number; complete: boolean }

export function summarize(r: Row): Summary {
  const m = (f: (x: RunResult) => number) => median(r.results.map(f));
  return {
    recPerSec: m((x) => x.records / (x.wallMs / 1000)),
    mbPerSec: m((x) => x.valueBytes / 1e6 / (x.wallMs / 1000)),
    usPerRec: m((x) => x.cpuUs / x.records),
    rssMb: m((x) => x.maxRssKb / 1024),
    brokerCores: m((x) => (x.brokerCpuUs ?? NaN) / 1000 / machineWindowMs(x)),
    otherCores: m((x) => otherCpuUs(x) / 1000 / machineWindowMs(x)),
    // Per record: a warm row's topic also holds the records sent before its window.
    storedRatio: m((x) => ((x.storedBytes ?? NaN) / (x.storedRecords ?? NaN)) / (x.valueBytes / x.records)),
    complete: r.results.every((x) => x.storedRecords === undefined || x.storedRecords === x.records + x.outside),
  };
}

const HEADER = ['client', 'acks', 'records/s', 'MB/s', 'µs CPU/record', 'max RSS MB', 'kafkarx/this records/s', 'kafkarx/this CPU', 'broker cores', 'other cores', 'stored/value', 'records/s per round'];

function line(e: Entry): string[] {
  const { row: r, label } = e;
  const acks = r.acks === 1 ? '1' : 'all';
  if (r.skipped || r.results.length === 0) return [label, acks, ...HEADER.slice(2, -1).map(() => '—'), r.skipped ? 'left out (below)' : 'no result'];
  const s = summarize(r);
  const ref = e.reference && e.reference !== r && e.reference.results.length ? summarize(e.reference) : undefined;
  const maybe = (n: number, digits: number) => (Number.isNaN(n) ? '?' : fmt(n, digits));
  return [label, acks, fmt(s.recPerSec) + (s.complete ? '' : ' (!)'), fmt(s.mbPerSec, 1), fmt(s.usPerRec, 2), fmt(s.rssMb),
    ref ? `${fmt(ref.recPerSec / s.recPerSec, 2)}×` : '', ref ? `${fmt(ref.usPerRec / s.usPerRec, 2)}×` : '',
    maybe(s.brokerCores, 2), maybe(s.otherCores, 2), maybe(s.storedRatio, 2), r.results.map((x) => fmt(x.records / (x.wallMs / 1000))).join(' ')];
}

export function report(tables: GroupTable[], repeat: number, cores: number): void {
  for (const t of tables) table(`${t.title} (median of ${repeat} interleaved rounds)`, HEADER, t.entries.map(line));
  const skipped = tables.flatMap((t) => t.entries).filter((e) => e.row.skipped);
  for (const e of new Set(skipped)) console.log(`left out: ${e.label}: ${e.row.skipped}`);
  const incomplete = tables.flatMap((t) => t.entries).filter((e) => e.row.results.length && !summarize(e.row).complete);
  for (const e of incomplete) console.log(`(!) ${e.label}: the broker stored ${e.row.results.map((x) => x.storedRecords).join(', ')} records, not ${e.row.records} (+ those sent outside the window)`);
  console.log(`
records/s, MB/s: from the first record handed over to the last acknowledged (MB = 10^6 value bytes). µs CPU/record: user + system
CPU of the client's process, all threads, in that window; Java and kcat: their process's rusage less that of a 1-record run of the
same command (their start-up, shown per run in the log). kafkarx/this: kafkarx's records/s over this row's (above 1: kafkarx is
faster) and kafkarx's CPU per record over this row's (below 1: kafkarx is cheaper), against the table's kafkarx reference row.
broker cores, other cores: CPU of the broker and of everything else on the machine (${cores} cores) per second of the window:
other work is noise. stored/value: what the broker stored per record (batches, headers included) over the value bytes per record.`);
}
