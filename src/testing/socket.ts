import { Duplex } from 'node:stream';

/** What a fake socket asks of the cluster behind it. */
export interface FrameHandler {
  /**
   * Handles one request frame (without its size prefix). Calls `reply` with the response frame
   * (without size prefix) or never, for requests without an answer or a dropped connection.
   */
  handle(frame: Buffer, reply: (response: Buffer) => void, drop: () => void): void;
}

/**
 * The client end of an in-memory connection: the bytes the client writes are cut into
 * length-prefixed frames and handed to the cluster; its answers come back as 'data', like a
 * Socket's. Stands in for node:net's Socket at kafkarx's connection boundary.
 */
export class FakeSocket extends Duplex {
  private pending: Buffer = Buffer.alloc(0);
  private readonly handler: FrameHandler | undefined;
  /** The fake closed it (a dropped connection, FakeKafka.close()), not the client. */
  closedByBroker = false;

  constructor(handler: FrameHandler | undefined, address: string) {
    super();
    this.handler = handler;
    // Opens (or refuses) on a later tick, as a real connect does.
    process.nextTick(() => {
      if (this.destroyed) return;
      if (handler) this.emit('connect');
      else this.destroy(Object.assign(new Error(`connect ECONNREFUSED ${address} (no such broker in the FakeKafka cluster)`), { code: 'ECONNREFUSED' }));
    });
  }

  closeFromBroker(): void {
    this.closedByBroker = true;
    this.destroy();
  }

  setNoDelay(): this {
    return this;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // Copied: the client may reuse its write buffer once the write callback ran.
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4) {
      const size = this.pending.readInt32BE(0);
      if (this.pending.length < 4 + size) break;
      const frame = this.pending.subarray(4, 4 + size);
      this.pending = this.pending.subarray(4 + size);
      try {
        this.handler!.handle(frame, (response) => this.answer(response), () => this.closeFromBroker());
      } catch (e) {
        // A request the fake cannot serve closes the connection, as a broker does, saying why.
        callback();
        this.closedByBroker = true;
        this.destroy(e as Error);
        return;
      }
    }
    callback();
  }

  private answer(response: Buffer): void {
    if (this.destroyed) return;
    const size = Buffer.alloc(4);
    size.writeInt32BE(response.length, 0);
    this.push(Buffer.concat([size, response]));
  }
}
