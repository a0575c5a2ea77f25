// A recorded training step: every pipeline and bind group is made once, at record time; a run
// encodes the whole list into one command encoder (compute passes split only by buffer copies)
// and submits it once. Engine kernels declare every storage binding read_write: WebGPU forbids one
// buffer bound read-only and writable in the same dispatch, even at disjoint offsets (Dawn:
// "includes writable usage and another usage in the same synchronization scope"), and arenas put
// a kernel's inputs and outputs in the same buffer. Writable ranges must not overlap, which
// dispatch() checks here rather than Dawn at submit.
/// <reference types="@webgpu/types" />
import { ConfigError } from '../../errors.ts';

export interface DispatchStep {
  kind: 'dispatch';
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  /** Storage bindings (WebGPU guarantees 8 per shader stage; the engine's kernels stay within that). */
  bindings: number;
  groups: [number, number, number];
}

export interface CopyStep {
  kind: 'copy';
  label: string;
  src: GPUBufferBinding;
  dst: GPUBufferBinding;
}

export type ProgramStep = DispatchStep | CopyStep;

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** Workgroups for `count` invocations of `wg` each, over x and (past 65,535 workgroups) y. */
export function invocationGroups(count: number, wg: number): [number, number] {
  const groups = Math.ceil(count / wg);
  return [Math.min(groups, 65535), Math.ceil(groups / 65535)];
}

/** The pipeline for WGSL `code()` (entry point `main`), compiled once per device and key. */
export function cachedPipeline(device: GPUDevice, key: string, code: () => string): GPUComputePipeline {
  let byKey = pipelines.get(device);
  if (!byKey) {
    byKey = new Map();
    pipelines.set(device, byKey);
  }
  let p = byKey.get(key);
  if (!p) {
    p = device.createComputePipeline({ label: key, layout: 'auto', compute: { module: device.createShaderModule({ label: key, code: code() }), entryPoint: 'main' } });
    byKey.set(key, p);
  }
  return p;
}

const rangeOf = (b: GPUBufferBinding): [number, number] => {
  const start = b.offset ?? 0;
  return [start, start + (b.size ?? b.buffer.size - start)];
};

export class StepProgram {
  private readonly list: ProgramStep[] = [];
  private submitted = 0;

  constructor(readonly device: GPUDevice) {}

  /** Records one dispatch; `bindings[i]` is @binding(i) of group 0. Checks offsets, overlaps and group counts. */
  dispatch(label: string, pipeline: GPUComputePipeline, bindings: readonly GPUBufferBinding[], groups: readonly [number, number?, number?]): void {
    const limits = this.device.limits;
    if (bindings.length > limits.maxStorageBuffersPerShaderStage) throw new ConfigError(`${label}: ${bindings.length} storage bindings; the device allows ${limits.maxStorageBuffersPerShaderStage} per shader stage`);
    bindings.forEach((b, i) => {
      const [start, end] = rangeOf(b);
      if (start % limits.minStorageBufferOffsetAlignment !== 0) throw new Error(`${label}: binding ${i} starts at byte ${start}, not a multiple of ${limits.minStorageBufferOffsetAlignment}`);
      if (end <= start || end > b.buffer.size) throw new Error(`${label}: binding ${i} covers bytes [${start}, ${end}) of a ${b.buffer.size}-byte buffer`);
      if (end - start > limits.maxStorageBufferBindingSize) throw new ConfigError(`${label}: binding ${i} of "${b.buffer.label}" is ${end - start} bytes; the device binds at most ${limits.maxStorageBufferBindingSize} (maxStorageBufferBindingSize): this model is too large for this adapter's bindings`);
      bindings.slice(0, i).forEach((o, j) => {
        const [s, e] = rangeOf(o);
        if (o.buffer === b.buffer && start < e && s < end) throw new Error(`${label}: bindings ${j} [${s}, ${e}) and ${i} [${start}, ${end}) overlap in buffer "${b.buffer.label}"`);
      });
    });
    const g: [number, number, number] = [groups[0], groups[1] ?? 1, groups[2] ?? 1];
    if (g.some((n) => !Number.isInteger(n) || n < 1 || n > limits.maxComputeWorkgroupsPerDimension)) throw new Error(`${label}: workgroup counts ${g.join('×')} outside 1…${limits.maxComputeWorkgroupsPerDimension}`);
    const bindGroup = this.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries: bindings.map((resource, binding) => ({ binding, resource })) });
    this.list.push({ kind: 'dispatch', label, pipeline, bindGroup, bindings: bindings.length, groups: g });
  }

  /** Records a copy between two buffers (hooks copy activations out this way); it ends the current compute pass. */
  copy(label: string, src: GPUBufferBinding, dst: GPUBufferBinding): void {
    const [s0, s1] = rangeOf(src);
    const [d0, d1] = rangeOf(dst);
    if (s1 - s0 !== d1 - d0 || (s1 - s0) % 4 !== 0 || s0 % 4 !== 0 || d0 % 4 !== 0) throw new Error(`${label}: copy of [${s0}, ${s1}) to [${d0}, ${d1}) needs equal sizes and offsets in multiples of 4`);
    // WebGPU has no copy within one buffer (Dawn: "Source and destination are the same buffer").
    if (src.buffer === dst.buffer) throw new Error(`${label}: copy within one buffer ("${src.buffer.label}"); copy out to another arena`);
    this.list.push({ kind: 'copy', label, src, dst });
  }

  get steps(): readonly ProgramStep[] {
    return this.list;
  }

  get dispatchCount(): number {
    return this.list.reduce((n, s) => n + (s.kind === 'dispatch' ? 1 : 0), 0);
  }

  /** Compute passes per run: one per maximal run of dispatches between copies. */
  get passCount(): number {
    return this.list.reduce((n, s, i) => n + (s.kind === 'dispatch' && this.list[i - 1]?.kind !== 'dispatch' ? 1 : 0), 0);
  }

  /** queue.submit calls made by run(), over the program's life. */
  get submitCount(): number {
    return this.submitted;
  }

  /** Encodes every step, in order, into `encoder`. */
  encode(encoder: GPUCommandEncoder): void {
    let pass: GPUComputePassEncoder | undefined;
    for (const s of this.list) {
      if (s.kind === 'copy') {
        pass?.end();
        pass = undefined;
        const [s0, s1] = rangeOf(s.src);
        encoder.copyBufferToBuffer(s.src.buffer, s0, s.dst.buffer, s.dst.offset ?? 0, s1 - s0);
        continue;
      }
      pass ??= encoder.beginComputePass();
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, s.bindGroup);
      pass.dispatchWorkgroups(...s.groups);
    }
    pass?.end();
  }

  /**
   * One command buffer, one queue.submit. Host writes queued before (queue.writeBuffer) land
   * first. `after` appends commands to the same buffer (a ReadbackRing's copies).
   */
  run(after?: (encoder: GPUCommandEncoder) => void): void {
    const encoder = this.device.createCommandEncoder();
    this.encode(encoder);
    after?.(encoder);
    this.device.queue.submit([encoder.finish()]);
    this.submitted++;
  }
}
