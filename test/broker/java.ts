import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { workDir } from './paths.ts';

/** log4j2 settings for command-line tools: warnings to stderr, so stdout carries only the tool's output. */
export function toolLogConfig(): string {
  const dir = workDir();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'log4j2-tools.properties');
  writeFileSync(file, [
    'appender.err.type = Console',
    'appender.err.name = STDERR',
    'appender.err.target = SYSTEM_ERR',
    'appender.err.layout.type = PatternLayout',
    'appender.err.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = WARN',
    'rootLogger.appenderRef.err.ref = STDERR',
    '',
  ].join('\n'));
  return file;
}

export function javaToolArgs(classpath: string, mainClass: string, args: string[]): string[] {
  return ['-Xms64m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
    `-Dlog4j2.configurationFile=${toolLogConfig()}`, '-cp', `${classpath}/*`, mainClass, ...args];
}

/** Runs a Kafka command-line tool to completion; throws with its output when it fails. */
export function runJavaTool(classpath: string, mainClass: string, args: string[], timeoutMs = 120_000): SpawnSyncReturns<Buffer> {
  const res = spawnSync('java', javaToolArgs(classpath, mainClass, args), { timeout: timeoutMs, maxBuffer: 1 << 30 });
  if (res.status !== 0) {
    throw new Error(`${mainClass} ${args.join(' ')} failed (${res.error?.message ?? res.status ?? res.signal}):\n${res.stderr?.toString().slice(-4000)}\n${res.stdout?.toString().slice(-2000)}`);
  }
  return res;
}

/** The same, without blocking the event loop (tests run a producer while a tool reads). */
export function runJavaToolAsync(classpath: string, mainClass: string, args: string[], timeoutMs = 180_000, input?: Buffer | string): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', javaToolArgs(classpath, mainClass, args), { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr });
      else reject(new Error(`${mainClass} ${args.join(' ')} failed (${signal ?? code}):\n${stderr.slice(-4000)}`));
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}
