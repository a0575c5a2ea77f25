// Adaptations that tfjs-backend-webgpu needs under Node (measured on an H100, bench/gpu):
// synchronous reads without OffscreenCanvas and AddN within WebGPU's 8 storage buffers per stage.
// (Sum/Mean gradients that broadcast on the device rather than multiply by ones filled in JS are
// gradients.ts', registered for every backend.)
import { tf } from './tf.ts';

type Backend = {
  tensorMap: Map<unknown, { values: unknown; dtype: string; resource: { size: number } }>;
  bufferManager: { acquireBuffer(size: number, usage: number): GpuBuffer; releaseBuffer(b: GpuBuffer): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  commandEncoder: { copyBufferToBuffer(a: unknown, ao: number, b: unknown, bo: number, size: number): void };
  submitQueue(): void;
  convertAndCacheOnCPU(dataId: unknown, values: unknown): void;
  disposeData(dataId: unknown): void;
};
type GpuBuffer = { mapAsync(mode: number): Promise<void>; mapState: string; getMappedRange(): ArrayBuffer; unmap(): void };
const g = globalThis as unknown as { GPUBufferUsage: { COPY_DST: number; MAP_READ: number }; GPUMapMode: { READ: number } };

let installed = false;
let syncReadReady = false;
let readBuffer: ((backend: Backend, buffer: unknown, size: number) => ArrayBuffer) | undefined;

/** Copies `size` bytes of a GPU buffer to the host and waits for them (submits pending work first). */
export function readBufferSync(backend: unknown, buffer: unknown, size: number): ArrayBuffer {
  if (!readBuffer) throw new Error('webgpu read: prepareSyncRead() was not called before Dawn was created');
  return readBuffer(backend as Backend, buffer, size);
}

/** Call before Dawn is created: the synchronous read must see every callback Dawn schedules. */
export function prepareSyncRead(): void {
  if (syncReadReady) return;
  syncReadReady = true;
  installSyncRead();
}

/** Call once the webgpu backend is registered. */
export function installWebgpuNodeFixes(): void {
  if (installed) return;
  installed = true;
  prepareSyncRead();
  chunkAddN(7);
}

/**
 * dataSync on webgpu copies through an OffscreenCanvas, which Node lacks. This reads the way the
 * async path does (copy to a mappable buffer, mapAsync) and waits by running Dawn's event
 * processing itself: dawn.node schedules ProcessEvents through setImmediate, so that callback is
 * captured and run in a loop until the buffer is mapped. A busy wait, like any synchronous read.
 */
function installSyncRead(): void {
  const realSetImmediate = globalThis.setImmediate;
  const isNative = (f: unknown) => typeof f === 'function' && Function.prototype.toString.call(f).includes('[native code]');
  let spinning = false;
  let held: (() => void) | null = null;
  let last: (() => void) | null = null;
  let realPending = 0;
  const patched = ((cb: (...a: unknown[]) => void, ...args: unknown[]) => {
    if (args.length === 0 && isNative(cb)) {
      last = cb as () => void;
      if (spinning) {
        held = cb as () => void;
        return undefined;
      }
      realPending++;
      return realSetImmediate(() => {
        realPending--;
        cb();
      });
    }
    return realSetImmediate(cb, ...args);
  }) as unknown as typeof setImmediate;
  globalThis.setImmediate = patched;

  const read = (backend: Backend, buffer: unknown, size: number): ArrayBuffer => {
    const staging = backend.bufferManager.acquireBuffer(size, g.GPUBufferUsage.COPY_DST | g.GPUBufferUsage.MAP_READ);
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.commandEncoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
    backend.submitQueue();
    spinning = true;
    let failure: unknown = null;
    try {
      staging.mapAsync(g.GPUMapMode.READ).catch((e: unknown) => {
        failure = e;
      });
      const t0 = Date.now();
      while (staging.mapState === 'pending') {
        const cb = held ?? last;
        held = null;
        if (!cb) throw new Error('webgpu read: Dawn has not scheduled event processing');
        cb();
        if (Date.now() - t0 > 600_000) throw new Error('webgpu read: buffer map did not finish in 600 s');
      }
    } finally {
      spinning = false;
      if (held && realPending === 0) {
        const cb: () => void = held;
        realPending++;
        realSetImmediate(() => {
          realPending--;
          cb();
        });
      }
      held = null;
    }
    if (staging.mapState !== 'mapped') throw new Error(`webgpu read: buffer map failed (${staging.mapState}) ${String(failure ?? '')}`);
    const data = staging.getMappedRange().slice(0);
    staging.unmap();
    backend.bufferManager.releaseBuffer(staging);
    return data;
  };

  readBuffer = read;

  const syncRead = (backend: Backend, dataId: unknown): unknown => {
    const td = backend.tensorMap.get(dataId);
    if (!td) throw new Error('webgpu read: unknown tensor');
    if (td.values != null || td.dtype === 'string') return td.values;
    const data = read(backend, td.resource, td.resource.size);
    const values = (tf.util as unknown as { convertBackendValuesAndArrayBuffer(d: ArrayBuffer, dtype: string): unknown }).convertBackendValuesAndArrayBuffer(data, td.dtype);
    backend.convertAndCacheOnCPU(dataId, values);
    return values;
  };

  const engine = tf.engine() as unknown as { constructor: { prototype: { readSync(id: unknown): unknown } } };
  const proto = engine.constructor.prototype;
  const original = proto.readSync;
  proto.readSync = function readSync(this: { state: { tensorInfo: Map<unknown, { backend: Partial<Backend> }> } }, dataId: unknown) {
    const backend = this.state.tensorInfo.get(dataId)?.backend;
    if (backend?.bufferManager && backend.tensorMap) return syncRead(backend as Backend, dataId);
    return original.call(this, dataId);
  };
}

/** tfjs binds every AddN input as its own storage buffer; WebGPU allows 8 per stage. */
function chunkAddN(max: number): void {
  const kernel = tf.getKernel('AddN', 'webgpu');
  if (!kernel) return;
  const orig = kernel.kernelFunc as unknown as (a: { inputs: unknown[]; backend: Backend; attrs: unknown }) => { dataId: unknown };
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    kernelName: 'AddN',
    backendName: 'webgpu',
    kernelFunc: ((args: { inputs: unknown[]; backend: Backend; attrs: unknown }) => {
      let inputs = args.inputs;
      const temps: { dataId: unknown }[] = [];
      while (inputs.length > max) {
        const next: unknown[] = [];
        for (let i = 0; i < inputs.length; i += max) {
          const chunk = inputs.slice(i, i + max);
          if (chunk.length === 1) next.push(chunk[0]);
          else {
            const r = orig({ ...args, inputs: chunk });
            temps.push(r);
            next.push(r);
          }
        }
        inputs = next;
      }
      const out = orig({ ...args, inputs });
      for (const t of temps) args.backend.disposeData(t.dataId);
      return out;
    }) as never,
  });
}
