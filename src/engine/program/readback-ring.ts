// Reads a few floats per step (the loss, the gradient norm) without stalling the queue: each
// step's command buffer ends with copies into one of `depth` mappable buffers, and the host maps
// that buffer while the next steps run. The caller awaits step t's values after submitting
// step t+1, so the host reads one step behind and the GPU never waits for it.
/// <reference types="@webgpu/types" />

export class ReadbackRing {
  private readonly buffers: GPUBuffer[];
  private readonly busy: boolean[];
  private readonly floats: number;
  private last = -1;
  private next = 0;

  constructor(
    readonly device: GPUDevice,
    /** The slices copied out each step, in order (each a multiple of 4 bytes). */
    readonly sources: readonly GPUBufferBinding[],
    depth = 2,
  ) {
    this.floats = sources.reduce((n, b) => n + (b.size ?? b.buffer.size - (b.offset ?? 0)) / 4, 0);
    this.buffers = Array.from({ length: depth }, (_, i) => device.createBuffer({ label: `readback ${i}`, size: 4 * this.floats, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ }));
    this.busy = this.buffers.map(() => false);
  }

  /** Appends this step's copies to `encoder` (pass it to StepProgram.run). */
  encode(encoder: GPUCommandEncoder): void {
    const i = this.next;
    if (this.busy[i]) throw new Error(`readback: all ${this.buffers.length} buffers are still waiting to be read; await an earlier collect() before the next step`);
    let at = 0;
    for (const b of this.sources) {
      const size = b.size ?? b.buffer.size - (b.offset ?? 0);
      encoder.copyBufferToBuffer(b.buffer, b.offset ?? 0, this.buffers[i] as GPUBuffer, at, size);
      at += size;
    }
    this.busy[i] = true;
    this.last = i;
    this.next = (i + 1) % this.buffers.length;
  }

  /** The values the last encode() copied, once its command buffer has run (call after the submit). */
  collect(): Promise<Float32Array> {
    const i = this.last;
    if (i < 0 || !this.busy[i]) throw new Error('readback: collect() needs an encode() and a submit before it');
    this.last = -1;
    const buffer = this.buffers[i] as GPUBuffer;
    return buffer.mapAsync(GPUMapMode.READ).then(
      () => {
        const values = new Float32Array(buffer.getMappedRange().slice(0));
        buffer.unmap();
        this.busy[i] = false;
        return values;
      },
      (e: unknown) => {
        this.busy[i] = false;
        throw e;
      },
    );
  }

  destroy(): void {
    for (const b of this.buffers) b.destroy();
  }
}
