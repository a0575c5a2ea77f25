// A bounded shuffling buffer: rows stream in (in capture order, one sequence after another)
// and leave in random order, so a batch mixes tokens of many sequences without holding the
// whole capture in memory. Each emitted row is replaced by the next incoming one; the source
// is re-opened at its end, so batches never run out (epochs).
import type { Rng } from '../src/engine/random.ts';
import type { BatchSource } from './train.ts';

/** Rows kept: 2^16, capped at 256 MiB of float32 for wide inputs. */
export function bufferRows(width: number): number {
  return Math.max(1, Math.min(1 << 16, Math.floor((256 * 1024 * 1024) / (4 * width))));
}

export class ShuffleBuffer implements BatchSource {
  private readonly buf: Float32Array;
  private filled = 0;
  private chunk: Float32Array = new Float32Array(0);
  private at = 0;
  private iter: AsyncIterator<Float32Array> | undefined;
  /** Completed passes over the source. */
  epochs = 0;

  constructor(
    private readonly open: () => AsyncIterable<Float32Array>,
    private readonly width: number,
    private readonly batch: number,
    private readonly capacity: number,
    private readonly rng: Rng,
  ) {
    this.buf = new Float32Array(capacity * width);
  }

  /** The next incoming row, or throws when the source has no rows at all. */
  private async incoming(): Promise<Float32Array> {
    while (this.at >= this.chunk.length) {
      this.iter ??= this.open()[Symbol.asyncIterator]();
      const r = await this.iter.next();
      if (r.done) {
        if (this.at === 0 && this.chunk.length === 0 && this.epochs === 0 && this.filled === 0) throw new Error('shuffle buffer: the source has no rows');
        this.iter = undefined;
        this.epochs++;
        continue;
      }
      this.chunk = r.value;
      this.at = 0;
    }
    return this.take();
  }

  private take(): Float32Array {
    const row = this.chunk.subarray(this.at, this.at + this.width);
    this.at += this.width;
    return row;
  }

  /** Ends the source's current pass early, so that it closes its files. */
  async close(): Promise<void> {
    await this.iter?.return?.();
    this.iter = undefined;
  }

  async next(): Promise<Float32Array> {
    const w = this.width;
    while (this.filled < this.capacity) {
      this.buf.set(await this.incoming(), this.filled * w);
      this.filled++;
    }
    const out = new Float32Array(this.batch * w);
    for (let b = 0; b < this.batch; b++) {
      const j = this.rng.int(this.capacity);
      out.set(this.buf.subarray(j * w, (j + 1) * w), b * w);
      this.buf.set(this.at < this.chunk.length ? this.take() : await this.incoming(), j * w);
    }
    return out;
  }
}
