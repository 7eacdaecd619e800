import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

/**
 * Reads entries out of a jar (a zip archive) so the generator needs neither `unzip` nor a JDK.
 * Only what jars use: no zip64, stored or deflated entries.
 */
export class Jar {
  private readonly data: Buffer;
  private readonly entries = new Map<string, { method: number; compressedSize: number; localOffset: number }>();

  constructor(path: string) {
    this.data = readFileSync(path);
    const d = this.data;
    const eocd = d.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error(`${path} is not a zip archive`);
    const count = d.readUInt16LE(eocd + 10);
    let p = d.readUInt32LE(eocd + 16);
    for (let i = 0; i < count; i++) {
      if (d.readUInt32LE(p) !== 0x02014b50) throw new Error(`${path}: bad central directory entry at ${p}`);
      const method = d.readUInt16LE(p + 10);
      const compressedSize = d.readUInt32LE(p + 20);
      const nameLength = d.readUInt16LE(p + 28);
      const extraLength = d.readUInt16LE(p + 30);
      const commentLength = d.readUInt16LE(p + 32);
      const localOffset = d.readUInt32LE(p + 42);
      const name = d.toString('utf8', p + 46, p + 46 + nameLength);
      this.entries.set(name, { method, compressedSize, localOffset });
      p += 46 + nameLength + extraLength + commentLength;
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  read(name: string): Buffer {
    const e = this.entries.get(name);
    if (!e) throw new Error(`no ${name} in the jar`);
    const d = this.data;
    const start = e.localOffset + 30 + d.readUInt16LE(e.localOffset + 26) + d.readUInt16LE(e.localOffset + 28);
    const raw = d.subarray(start, start + e.compressedSize);
    if (e.method === 0) return Buffer.from(raw);
    if (e.method === 8) return inflateRawSync(raw);
    throw new Error(`${name}: unsupported zip compression method ${e.method}`);
  }
}
