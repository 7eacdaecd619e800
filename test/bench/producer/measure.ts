// CPU, wall time and memory of one run. A Node client measures itself (process.cpuUsage counts
// every thread: event loop, libuv pool, GC); Java and kcat are measured from outside, through the
// rusage GNU time reports for the process it waited for. The broker's and the whole machine's CPU
// in the same window come from /proc, so other work on the machine shows next to each row.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Timed } from './types.ts';

/** Runs `body` in the measured window: wall time, CPU of this whole process, peak RSS. */
export async function measure(records: number, brokerPid: number | undefined, body: () => Promise<number>): Promise<Timed> {
  // Collect what setup left behind, so that GC is not billed to the run.
  (globalThis as { gc?: () => void }).gc?.();
  const broker0 = processCpuUs(brokerPid);
  const machine0 = machineCpuUs();
  const cpu0 = process.cpuUsage();
  const hr0 = process.hrtime.bigint();
  const t0 = performance.now();
  const acked = await body();
  const wallMs = performance.now() - t0;
  const hr1 = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  const broker1 = processCpuUs(brokerPid);
  const machine1 = machineCpuUs();
  if (acked !== records) throw new Error(`${acked} of ${records} records were acknowledged`);
  return {
    records, wallMs, cpuUs: cpu.user + cpu.system, maxRssKb: process.resourceUsage().maxRSS,
    brokerCpuUs: delta(broker0, broker1), machineCpuUs: delta(machine0, machine1),
    windowUs: [Number(hr0 / 1000n), Number(hr1 / 1000n)],
  };
}

const delta = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b !== undefined ? b - a : undefined);

export interface ToolRun {
  wallMs: number;
  cpuUs: number;
  maxRssKb: number;
  brokerCpuUs?: number;
  machineCpuUs?: number;
  stdout: string;
  stderr: string;
}

const TIME = '/usr/bin/time';

/** Why tools cannot be measured here, or undefined when they can. */
export const cannotMeasureTools = (): string | undefined => (existsSync(TIME) ? undefined : `${TIME} (GNU time) is missing: install the time package`);

/**
 * Runs a command to completion under GNU time: its user + system CPU and max RSS are the kernel's
 * rusage of the process and every thread (the JVM's GC and JIT threads, librdkafka's broker
 * threads), taken when it was reaped; 10 ms resolution.
 */
export function runTool(command: string, args: string[], brokerPid: number | undefined, timeoutMs: number): Promise<ToolRun> {
  const out = join(tmpdir(), `kafkarx-bench-time-${process.pid}-${Date.now()}`);
  return new Promise((resolve, reject) => {
    const broker0 = processCpuUs(brokerPid);
    const machine0 = machineCpuUs();
    const t0 = performance.now();
    const child = spawn(TIME, ['-o', out, '-f', 'RUSAGE %U %S %M', command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => stdout.push(b));
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(new Error(`${TIME} could not run (${e.message}): the bench needs GNU time to measure ${command}`)); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallMs = performance.now() - t0;
      const broker1 = processCpuUs(brokerPid);
      const machine1 = machineCpuUs();
      const err = Buffer.concat(stderr).toString();
      let usage = '';
      try {
        usage = readFileSync(out, 'utf8');
      } catch {
        // No report: the failure below says why.
      }
      rmSync(out, { force: true });
      const m = /RUSAGE ([\d.]+) ([\d.]+) (\d+)/.exec(usage);
      if (code !== 0 || !m) {
        reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${err.slice(-3000)}\n${usage}`));
        return;
      }
      resolve({
        wallMs, cpuUs: Math.round((Number(m[1]) + Number(m[2])) * 1e6), maxRssKb: Number(m[3]),
        brokerCpuUs: delta(broker0, broker1), machineCpuUs: delta(machine0, machine1),
        stdout: Buffer.concat(stdout).toString(), stderr: err,
      });
    });
  });
}

/** User + system CPU of a process from /proc/<pid>/stat (Linux), µs. */
export function processCpuUs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces; utime and stime
    // are fields 14 and 15, in clock ticks (100 per second on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/** Busy CPU of the whole machine since boot from /proc/stat (Linux), µs. */
export function machineCpuUs(): number | undefined {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) * 10_000;
  } catch {
    return undefined;
  }
}

/**
 * The JVM listening on 127.0.0.1:<port>, found through /proc/net/tcp{,6} and the socket inodes in
 * /proc/<pid>/fd; undefined when it is not on this machine or not visible to us.
 */
export function listenerPid(address: string): number | undefined {
  const m = /^(?:127\.0\.0\.1|localhost):(\d+)$/.exec(address.split(',')[0].trim());
  if (!m) return undefined;
  const port = Number(m[1]).toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; the inode is field 10.
      if (f.length > 9 && f[1].endsWith(`:${port}`) && f[3] === '0A') inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${entry}/fd/${fd}`);
        // Only a JVM counts: behind a Docker port the listener is docker-proxy, not the broker.
        if (link.startsWith('socket:[') && inodes.has(link.slice(8, -1))) return readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'java' ? Number(entry) : undefined;
      } catch {
        // The descriptor closed meanwhile.
      }
    }
  }
  return undefined;
}
