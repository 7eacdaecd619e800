import { readFileSync } from 'node:fs';
import { createHook } from 'node:async_hooks';
import { inspect } from 'node:util';
import { secureBroker } from '../broker/reference.ts';

/** An unsecured JWT (alg none), which the broker's default OAUTHBEARER validator accepts. */
export function unsecuredJwt(sub: string, lifetimeS = 3600, issuedAgoS = 0): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const iat = Math.floor(Date.now() / 1000) - issuedAgoS;
  return `${part({ alg: 'none' })}.${part({ sub, iat, exp: iat + lifetimeS, scope: 'kafka' })}.`;
}

/** Every credential of the test broker and of the failure cases: none may appear in any output. */
export function secrets(extra: string[] = []): string[] {
  const s = secureBroker();
  const keyBody = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----')).slice(1, 3);
  return [
    s.users.admin.password, s.users.alice.password, s.limited.password, s.clientKeyPassphrase,
    ...keyBody(s.certs.clientKey), ...keyBody(s.certs.clientKeyEncrypted),
    ...extra,
  ];
}

/** Everything an error shows: message, stack, properties, JSON and util.inspect, down its cause chain. */
export function renderError(e: unknown): string {
  const out: string[] = [];
  const seen = new Set<unknown>();
  for (let x = e; x && !seen.has(x); x = (x as { cause?: unknown }).cause) {
    seen.add(x);
    out.push(String(x), (x as Error).stack ?? '', safeJson(x, Object.getOwnPropertyNames(x)));
  }
  // What a logger does with it: plain JSON of kafkarx's error must work (and show no secret).
  out.push(JSON.stringify(e));
  out.push(inspect(e, { depth: 20, showHidden: true }));
  return out.join('\n');
}

/** JSON of `value` with the named top-level properties, cutting cycles (node:tls errors hold linked certificates). */
function safeJson(value: unknown, keys: string[]): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, (value as Record<string, unknown>)[k]])), (_k, v: unknown) => {
    if (typeof v !== 'object' || v === null) return v;
    if (seen.has(v)) return '[cycle]';
    seen.add(v);
    return v;
  });
}

/** What the process writes to stdout/stderr and the console while `run` runs. */
export async function captureOutput<T>(run: () => Promise<T>): Promise<{ value: T; output: string }> {
  const chunks: string[] = [];
  const out = process.stdout.write;
  const err = process.stderr.write;
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const originals = methods.map((m) => console[m]);
  const grab = (chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    return true;
  };
  process.stdout.write = grab as typeof process.stdout.write;
  process.stderr.write = grab as typeof process.stderr.write;
  for (const m of methods) console[m] = (...args: unknown[]) => void chunks.push(args.map((a) => inspect(a, { depth: 20 })).join(' '));
  try {
    const value = await run();
    return { value, output: chunks.join('') };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    methods.forEach((m, i) => (console[m] = originals[i] as never));
  }
}

/** Timers are released (destroy hook) when cleared or run; a socket's wrapper only when collected. */
const TRACKED = new Set(['Timeout', 'Immediate']);

/**
 * Timers created from now on: `live()` lists those not yet released, with where they were
 * created, so a test can check that none a producer made outlives its close().
 */
export function trackHandles(): { live(): string[]; stop(): void } {
  const alive = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (!TRACKED.has(type)) return;
      alive.set(id, `${type} ${new Error().stack!.split('\n').slice(2).filter((l) => l.includes('/src/') || l.includes('/operators/')).slice(0, 3).join(' <- ')}`);
    },
    destroy(id) {
      alive.delete(id);
    },
  }).enable();
  return { live: () => [...alive.values()], stop: () => void hook.disable() };
}

/** Open sockets keeping the process alive. */
export function openSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap' || r === 'TCPWRAP').length;
}

/** Resolves with how long `p` took, or rejects when it does not settle within `limitMs`. */
export async function settles<T>(what: string, p: Promise<T>, limitMs: number): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not settle within ${limitMs} ms`)), limitMs); });
  try {
    const r = await Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), limit]);
    return { ms: Math.round(performance.now() - start), ...r };
  } finally {
    clearTimeout(timer);
  }
}
