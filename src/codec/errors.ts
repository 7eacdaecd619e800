/**
 * A setting given to kafkarx is unknown or out of range. Thrown while configuring, before any I/O,
 * so a typo surfaces at start-up rather than as a broker error on the first send.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
