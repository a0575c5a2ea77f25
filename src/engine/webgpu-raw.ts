// Direct access to tfjs-webgpu's device and tensor buffers, for hand-written WGSL programs that
// tfjs' one-output program model cannot express (in-place updates, several outputs per pass).
/// <reference types="@webgpu/types" />
import { tf, type Tensor } from './tf.ts';

interface TensorData {
  values: unknown;
  dtype: string;
  refCount: number;
  resource: GPUBuffer | null;
}

/** The parts of tfjs-backend-webgpu 4.22's WebGPUBackend this module relies on. */
export interface WebgpuBackend {
  device: GPUDevice;
  tensorMap: Map<object, TensorData>;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  commandQueueOwnedIds: WeakSet<object>;
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: 'float32'): { dataId: object; shape: number[]; dtype: 'float32' };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** The active backend when it is tfjs-webgpu, else undefined. */
export function activeWebgpu(): WebgpuBackend | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const b = tf.backend() as unknown as Partial<WebgpuBackend>;
  return b.device && b.tensorMap && b.uploadToGPU ? (b as WebgpuBackend) : undefined;
}

function dataOf(backend: WebgpuBackend, t: Tensor): TensorData {
  const td = backend.tensorMap.get(t.dataId as object);
  if (!td) throw new Error('webgpu: tensor is not on the webgpu backend');
  return td;
}

/** The webgpu backend when hcprobe's fused programs should run (HCPROBE_FUSED=0 turns them off). */
export function fusedBackend(): WebgpuBackend | undefined {
  return process.env.HCPROBE_FUSED === '0' ? undefined : activeWebgpu();
}

/** Whether `t` is the only holder of its buffer, so that writing it in place changes nothing else. */
export function ownsBuffer(backend: WebgpuBackend, t: Tensor): boolean {
  const td = backend.tensorMap.get(t.dataId as object);
  return td !== undefined && td.refCount === 1 && td.dtype === 'float32';
}

/**
 * A binding for `t`'s storage buffer (uploaded first when its values are still on the host).
 * The tensor stays alive until the commands that use it are submitted.
 */
export function bufferBinding(backend: WebgpuBackend, t: Tensor): GPUBufferBinding {
  backend.uploadToGPU(t.dataId as object);
  const td = dataOf(backend, t);
  if (!td.resource) throw new Error('webgpu: tensor has no GPU buffer');
  backend.commandQueueOwnedIds.add(t.dataId as object);
  return { buffer: td.resource, offset: 0, size: t.size * 4 };
}

/** After a program wrote `t`'s buffer in place: drop any host copy tfjs cached at a read. */
export function markWritten(backend: WebgpuBackend, t: Tensor): void {
  dataOf(backend, t).values = null;
}

/** A new float32 tensor whose GPU buffer a program will fill. */
export function newTensor(backend: WebgpuBackend, shape: number[]): Tensor {
  const info = backend.makeTensorInfo(shape, 'float32');
  backend.uploadToGPU(info.dataId);
  const engine = tf.engine() as unknown as { makeTensorFromTensorInfo(i: object, b: unknown): Tensor };
  return engine.makeTensorFromTensorInfo(info, backend);
}

/**
 * Records one dispatch of `pipe` in tfjs' current compute pass, binding `resources` at 0, 1, …
 * (tensors by their buffers), and submits as tfjs does after WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE.
 */
export function dispatch(backend: WebgpuBackend, pipe: GPUComputePipeline, resources: (Tensor | GPUBufferBinding)[], groups: [number, number?]): void {
  const entries = resources.map((r, binding) => ({ binding, resource: 'dataId' in r ? bufferBinding(backend, r) : r }));
  const group = backend.device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
  backend.ensureCommandEncoderReady();
  if (!backend.computePassEncoder) backend.computePassEncoder = (backend.commandEncoder as GPUCommandEncoder).beginComputePass();
  const pass = backend.computePassEncoder;
  pass.setPipeline(pipe);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(groups[0], groups[1] ?? 1);
  backend.dispatchCountInPass++;
  if (backend.dispatchCountInPass >= (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number)) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}

/** The tensors' values end to end in one new 1-D tensor, by buffer copies (no dispatch). */
export function packed(backend: WebgpuBackend, parts: Tensor[]): Tensor {
  const out = newTensor(backend, [parts.reduce((a, t) => a + t.size, 0)]);
  const dst = bufferBinding(backend, out);
  const src = parts.map((t) => bufferBinding(backend, t));
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  let offset = 0;
  src.forEach((b, i) => {
    const bytes = (parts[i] as Tensor).size * 4;
    (backend.commandEncoder as GPUCommandEncoder).copyBufferToBuffer(b.buffer, 0, dst.buffer, offset, bytes);
    offset += bytes;
  });
  return out;
}

/** Workgroups for one per row, within WebGPU's 65,535 per dimension: [x, y], row = y·65535 + x. */
export function rowGroups(rows: number): [number, number] {
  return [Math.min(rows, 65535), Math.ceil(rows / 65535)];
}

/**
 * WGSL: `workgroup_sum(v, lid)`, the sum of v over a workgroup of `size` threads (a power of two),
 * by a tree in workgroup memory. Call it in uniform control flow.
 */
export function workgroupSumWgsl(size: number): string {
  return `
var<workgroup> red: array<f32, ${size}>;
fn workgroup_sum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${size / 2}u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}`;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** A compute pipeline for the WGSL that `code()` writes (entry point `main`), built once per device and name. */
export function pipeline(device: GPUDevice, name: string, code: () => string): GPUComputePipeline {
  let byName = pipelines.get(device);
  if (!byName) {
    byName = new Map();
    pipelines.set(device, byName);
  }
  let p = byName.get(name);
  if (!p) {
    p = device.createComputePipeline({ label: name, layout: 'auto', compute: { module: device.createShaderModule({ label: name, code: code() }), entryPoint: 'main' } });
    byName.set(name, p);
  }
  return p;
}
