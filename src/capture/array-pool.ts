// Arrays of a capture's activations, handed back once their batch is written and filled again
// by a later batch's reads: a capture of 100k tokens of the tiny preset reads ~400 MB, which
// would otherwise be allocated (and zeroed by the kernel), moved and collected batch by batch.
/** Free buffers by byte length, at most `maxBytes` of them; a buffer given back beyond that is left to the collector. */
export class ArrayPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** A Float32Array of `length` on a whole buffer of its own (transferable): a free one, or a new one. */
  take(length: number): Float32Array {
    const buffer = this.free.get(length * 4)?.pop();
    if (!buffer) return new Float32Array(length);
    this.bytes -= buffer.byteLength;
    return new Float32Array(buffer);
  }

  /** Buffers that nothing reads or writes any more. */
  give(buffers: Iterable<ArrayBuffer>): void {
    for (const b of buffers) {
      if (b.byteLength === 0 || this.bytes + b.byteLength > this.maxBytes) continue;
      const list = this.free.get(b.byteLength) ?? [];
      list.push(b);
      this.free.set(b.byteLength, list);
      this.bytes += b.byteLength;
    }
  }
}
