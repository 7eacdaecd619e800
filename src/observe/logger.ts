import { ConfigError } from '../producer/errors.ts';

/** What a log line carries besides its message; never a credential. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/**
 * Where kafkarx writes its log: any object with these four methods, called as `(message, fields)`.
 * `console` and winston loggers fit as they are; pino takes its fields first (see the README's
 * adapter).
 */
export interface Logger {
  debug(message: string, fields: LogFields): void;
  info(message: string, fields: LogFields): void;
  warn(message: string, fields: LogFields): void;
  error(message: string, fields: LogFields): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/**
 * The default: warnings and errors to the console, so an unreachable broker is not a silent wait;
 * `logger: null` silences kafkarx.
 */
export const consoleWarnings: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, fields) => console.warn(`kafkarx: ${message}`, fields),
  error: (message, fields) => console.error(`kafkarx: ${message}`, fields),
};

/** Checks the `logger` setting; null means silent. */
export function resolveLogger(value: unknown): Logger | null {
  if (value === undefined) return consoleWarnings;
  if (value === null) return null;
  if (typeof value !== 'object' && typeof value !== 'function') {
    throw new ConfigError(`logger: expected an object with debug, info, warn and error methods (console, a winston or an adapted pino logger) or null, got ${typeof value}`);
  }
  const missing = LEVELS.filter((l) => typeof (value as Record<string, unknown>)[l] !== 'function');
  if (missing.length > 0) throw new ConfigError(`logger: expected debug, info, warn and error methods, but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`);
  return value as Logger;
}

/**
 * The producer's log: calls the user's logger, which must not break the producer when it throws
 * (a full disk, a closed stream).
 */
export class Log {
  private readonly logger: Logger | null;

  constructor(logger: Logger | null) {
    this.logger = logger;
  }

  get enabled(): boolean {
    return this.logger !== null;
  }

  write(level: LogLevel, message: string, fields: LogFields): void {
    const logger = this.logger;
    if (logger === null) return;
    try {
      logger[level](message, fields);
    } catch (e) {
      process.emitWarning(`kafkarx: the logger threw at ${level}: ${(e as Error)?.message ?? String(e)}`);
    }
  }
}

/** An error as log fields: its class and Kafka error name, never the error object (its cause chain may hold anything). */
export function errorFields(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error: String(error) };
  const code = (error as { code?: unknown }).code;
  return { error: error.name, errorCode: typeof code === 'number' ? code : undefined, reason: error.message };
}
