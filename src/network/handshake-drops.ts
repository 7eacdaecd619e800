/** A second drop within this long of the first is a verdict, not bad luck. */
const DROPPED_AGAIN_WITHIN_MS = 30_000;

/**
 * Addresses whose last connection was dropped at the first request after ApiVersions, and when.
 * Once may be a broker going away at an unlucky moment; twice in a row, soon after, is a listener
 * that wants SASL (it allows only ApiVersions and SaslHandshake before authentication) or TLS.
 * One per cluster, that is per producer: what another producer in the process met, with its own
 * settings, says nothing about this one, and the history goes with the producer.
 */
export class HandshakeDrops {
  private readonly last = new Map<string, number>();

  /** Notes a drop at `now`; true when the connection before was dropped so too, within 30 s. */
  dropped(address: string, now: number): boolean {
    const before = this.last.get(address);
    if (before === undefined || now - before > DROPPED_AGAIN_WITHIN_MS) {
      this.last.set(address, now);
      return false;
    }
    this.last.delete(address);
    return true;
  }

  /** The broker answered a request after the handshake: its listener takes this client. */
  answered(address: string): void {
    this.last.delete(address);
  }
}
