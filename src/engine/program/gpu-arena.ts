// One GPUBuffer holding many named float32 slices (parameters, gradients, AdamW moments,
// activations, scratch), allocated once. Each slice starts at a multiple of the device's
// minStorageBufferOffsetAlignment, so any slice can be bound on its own; arenas laid out from the
// same slice list have the same offsets, so an update can run over params, grads, m and v as flat
// arrays. Gaps between slices are zero and stay zero under every elementwise update.
/// <reference types="@webgpu/types" />
import { ConfigError } from '../../errors.ts';

export interface SliceSpec {
  name: string;
  /** float32 elements, > 0 */
  length: number;
}

export interface Slice extends SliceSpec {
  /** bytes from the start of the buffer; a multiple of the alignment */
  offset: number;
}

export interface ArenaLayout {
  slices: Slice[];
  /** bytes, a multiple of 4 (the buffer's size) */
  bytes: number;
  align: number;
}

/** Offsets of `specs` in order: offset_i = ⌈(offset_{i-1} + 4·length_{i-1}) / align⌉·align. */
export function layoutSlices(specs: readonly SliceSpec[], align: number): ArenaLayout {
  if (!Number.isInteger(align) || align < 4 || align % 4 !== 0) throw new Error(`arena: alignment must be a positive multiple of 4 bytes, got ${align}`);
  const seen = new Set<string>();
  let end = 0;
  const slices = specs.map((s) => {
    if (seen.has(s.name)) throw new Error(`arena: slice "${s.name}" is named twice`);
    seen.add(s.name);
    if (!Number.isInteger(s.length) || s.length <= 0) throw new Error(`arena: slice "${s.name}" needs a positive integer length, got ${s.length}`);
    const offset = Math.ceil(end / align) * align;
    end = offset + 4 * s.length;
    return { name: s.name, length: s.length, offset };
  });
  return { slices, bytes: Math.max(4, end), align };
}

export class GpuArena {
  readonly buffer: GPUBuffer;
  readonly layout: ArenaLayout;
  private readonly byName: Map<string, Slice>;

  constructor(
    readonly device: GPUDevice,
    readonly label: string,
    specs: readonly SliceSpec[],
  ) {
    this.layout = layoutSlices(specs, device.limits.minStorageBufferOffsetAlignment);
    if (this.layout.bytes > device.limits.maxBufferSize) throw new ConfigError(`arena "${label}": ${this.layout.bytes} bytes exceed the adapter's maxBufferSize ${device.limits.maxBufferSize}: this model or batch is too large for it`);
    this.byName = new Map(this.layout.slices.map((s) => [s.name, s]));
    // WebGPU zero-initialises buffers, which the gaps rely on.
    this.buffer = device.createBuffer({ label, size: this.layout.bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  }

  slice(name: string): Slice {
    const s = this.byName.get(name);
    if (!s) throw new Error(`arena "${this.label}" has no slice "${name}" (it has ${[...this.byName.keys()].slice(0, 12).join(', ')}${this.byName.size > 12 ? ', …' : ''})`);
    return s;
  }

  /** The slice as a binding; `whole` binds the arena end to end (flat updates over all slices). */
  binding(name: string | 'whole'): GPUBufferBinding {
    if (name === 'whole') return { buffer: this.buffer, offset: 0, size: this.layout.bytes };
    const s = this.slice(name);
    return { buffer: this.buffer, offset: s.offset, size: 4 * s.length };
  }

  /** Queues a host → slice copy; it lands before the next submitted command buffer runs. */
  write(name: string, values: Float32Array): void {
    const s = this.slice(name);
    if (values.length !== s.length) throw new Error(`arena "${this.label}": slice "${name}" holds ${s.length} floats, got ${values.length}`);
    this.device.queue.writeBuffer(this.buffer, s.offset, values.buffer, values.byteOffset, values.byteLength);
  }

  /** Copies the named slices back to the host (one staging buffer, one submit). For tests and checkpoints. */
  async read(names: readonly string[]): Promise<Float32Array[]> {
    const slices = names.map((n) => this.slice(n));
    const total = slices.reduce((a, s) => a + 4 * s.length, 0);
    const staging = this.device.createBuffer({ label: `${this.label}.read`, size: Math.max(4, total), usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    const enc = this.device.createCommandEncoder();
    let at = 0;
    for (const s of slices) {
      enc.copyBufferToBuffer(this.buffer, s.offset, staging, at, 4 * s.length);
      at += 4 * s.length;
    }
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const all = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    at = 0;
    return slices.map((s) => {
      const out = all.slice(at, at + s.length);
      at += s.length;
      return out;
    });
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
