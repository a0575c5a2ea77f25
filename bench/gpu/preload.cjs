// Preload for the GPU benchmark (node --require bench/gpu/preload.cjs bin/hcprobe.mjs ...).
// It changes no source file; it only adapts TensorFlow.js in this process:
//
// 1. Flags. HCPROBE_TFJS_FLAGS=WEBGPU_CPU_FORWARD=false,WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=30 sets
//    tfjs flags before any backend registers them. tfjs reads such overrides only from a browser
//    URL; its Environment keeps them in `urlFlags` and applies them at registration, so filling
//    urlFlags works the same in Node.
//
// 2. Synchronous reads on webgpu (HCPROBE_READSYNC_SHIM=0 turns this off). tfjs-backend-webgpu's
//    readSync (behind dataSync/arraySync) copies through an OffscreenCanvas, which Node lacks:
//    "ReferenceError: OffscreenCanvas is not defined". The shim reads the buffer the way the async
//    path does (copy to a MAP_READ staging buffer, mapAsync) and waits for the map synchronously
//    by running Dawn's event processing itself: dawn.node (npm `webgpu`) schedules
//    instance.ProcessEvents() through globalThis.setImmediate, so the callback it hands to
//    setImmediate is captured and called in a loop until the buffer is mapped.
//    It is a busy wait, like any synchronous GPU read. HCPROBE_SHIM_STATS=1 prints, at exit, one
//    stderr line `HCPROBE_SHIM_STATS {...}` with the milliseconds each read waited for the GPU.
//
// 3. AddN on webgpu with more than 7 inputs (HCPROBE_ADDN_SHIM=0 turns this off). tfjs-backend-
//    webgpu binds every input of tf.addN as its own storage buffer, and WebGPU's default limit is
//    8 per shader stage, which tfjs does not raise: "The number of storage buffers (117) in the
//    Compute stage exceeds the maximum per-stage limit (8)", after which the result is garbage.
//    The shim sums in chunks of 7 with the same kernel.
//
// 4. Experiment, off by default (HCPROBE_GRAD_SHIM=1 turns it on): tfjs's gradients of Sum and
//    Mean multiply dy by ones(x.shape), and tf.ones fills a typed array in JavaScript and uploads
//    it: for the [B*T, vocab] loss tensors that is ~0.8 GB of host work per step. The shim
//    registers the same gradients with dy broadcast on the GPU (tf.broadcastTo) instead.
const { createRequire } = require('node:module');
const path = require('node:path');

const Module = require('node:module');

const req = createRequire(path.join(process.cwd(), 'package.json'));
const tfc = req('@tensorflow/tfjs-core');
const env = tfc.env();

const spec = process.env.HCPROBE_TFJS_FLAGS ?? '';
for (const kv of spec.split(',')) {
  const [k, v] = kv.split('=').map((s) => s?.trim());
  if (!k || v === undefined) continue;
  const value = v === 'true' ? true : v === 'false' ? false : Number.isNaN(Number(v)) ? v : Number(v);
  env.urlFlags[k] = value;
  if (env.flagRegistry[k]) env.set(k, value);
}

if (process.env.HCPROBE_READSYNC_SHIM !== '0') {
  const realSetImmediate = globalThis.setImmediate;
  const isNative = (f) => typeof f === 'function' && Function.prototype.toString.call(f).includes('[native code]');
  let spinning = false;
  let held = null; // Dawn's latest ProcessEvents callback not handed to Node
  let last = null; // Dawn's latest ProcessEvents callback, handed to Node or not
  let realPending = 0; // Dawn callbacks queued in Node's immediate queue
  globalThis.setImmediate = function setImmediate(cb, ...args) {
    if (args.length === 0 && isNative(cb)) {
      last = cb;
      if (spinning) {
        held = cb;
        return undefined;
      }
      realPending++;
      return realSetImmediate(() => {
        realPending--;
        cb();
      });
    }
    return realSetImmediate(cb, ...args);
  };

  const stats = { waits: [] };
  if (process.env.HCPROBE_SHIM_STATS === '1') process.on('exit', () => process.stderr.write(`HCPROBE_SHIM_STATS ${JSON.stringify(stats)}\n`));

  const syncRead = (backend, dataId) => {
    const td = backend.tensorMap.get(dataId);
    if (td.values != null || td.dtype === 'string') return td.values;
    if (td.dtype === 'complex64') throw new Error('preload readSync shim: complex64 is not supported');
    const buffer = td.resource;
    const size = buffer.size;
    const staging = backend.bufferManager.acquireBuffer(size, GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ);
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.commandEncoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
    backend.submitQueue();
    spinning = true;
    let failure = null;
    try {
      staging.mapAsync(GPUMapMode.READ).catch((e) => {
        failure = e;
      });
      const t0 = Date.now();
      const w0 = performance.now();
      while (staging.mapState === 'pending') {
        const cb = held ?? last; // `last` is queued in Node already: run it now, early
        held = null;
        if (cb) cb();
        else throw new Error('preload readSync shim: no Dawn ProcessEvents callback to run');
        if (Date.now() - t0 > 600_000) throw new Error('preload readSync shim: map did not finish in 600 s');
      }
      stats.waits.push(Math.round((performance.now() - w0) * 1000) / 1000);
    } finally {
      spinning = false;
      if (held && realPending === 0) {
        const cb = held;
        realPending++;
        realSetImmediate(() => {
          realPending--;
          cb();
        });
      }
      held = null;
    }
    if (staging.mapState !== 'mapped') throw new Error(`preload readSync shim: buffer map failed (${staging.mapState}) ${failure ?? ''}`);
    const data = staging.getMappedRange().slice(0);
    staging.unmap();
    backend.bufferManager.releaseBuffer(staging);
    const vals = tfc.util.convertBackendValuesAndArrayBuffer(data, td.dtype);
    backend.convertAndCacheOnCPU(dataId, vals);
    return vals;
  };

  const Engine = tfc.engine().constructor;
  const original = Engine.prototype.readSync;
  Engine.prototype.readSync = function readSync(dataId) {
    const info = this.state.tensorInfo.get(dataId);
    const backend = info?.backend;
    if (backend && backend.bufferManager && backend.tensorMap && typeof GPUBufferUsage !== 'undefined') return syncRead(backend, dataId);
    return original.call(this, dataId);
  };
}

if (process.env.HCPROBE_ADDN_SHIM !== '0') {
  const MAX = 7;
  let patched = false;
  const patchAddN = () => {
    const k = tfc.getKernel('AddN', 'webgpu');
    if (!k) return;
    patched = true;
    const orig = k.kernelFunc;
    tfc.unregisterKernel('AddN', 'webgpu');
    tfc.registerKernel({
      kernelName: 'AddN',
      backendName: 'webgpu',
      kernelFunc: (args) => {
        let ts = args.inputs;
        const temps = [];
        while (ts.length > MAX) {
          const next = [];
          for (let i = 0; i < ts.length; i += MAX) {
            const chunk = ts.slice(i, i + MAX);
            if (chunk.length === 1) next.push(chunk[0]);
            else {
              const r = orig({ ...args, inputs: chunk });
              temps.push(r);
              next.push(r);
            }
          }
          ts = next;
        }
        const out = orig({ ...args, inputs: ts });
        for (const t of temps) args.backend.disposeData(t.dataId);
        return out;
      },
    });
  };
  const load = Module._load;
  Module._load = function _load(request, ...rest) {
    const m = load.call(this, request, ...rest);
    if (!patched && request === '@tensorflow/tfjs-backend-webgpu') patchAddN();
    return m;
  };
}

if (process.env.HCPROBE_GRAD_SHIM === '1') {
  let done = false;
  const patchGrads = (tf) => {
    done = true;
    const expanded = (x, axis) => {
      const shape = x.shape.slice();
      for (const a of tf.util.parseAxisParam(axis, x.shape)) shape[a] = 1;
      return shape;
    };
    tf.registerGradient({
      kernelName: 'Sum',
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        return { x: () => tf.broadcastTo(tf.reshape(dy, expanded(x, attrs.axis)), x.shape) };
      },
    });
    tf.registerGradient({
      kernelName: 'Mean',
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        const axes = tf.util.parseAxisParam(attrs.axis, x.shape);
        const reduceSize = axes.reduce((n, a) => n * x.shape[a], 1);
        return { x: () => tf.div(tf.broadcastTo(tf.reshape(dy, expanded(x, attrs.axis)), x.shape), reduceSize) };
      },
    });
  };
  const load2 = Module._load;
  Module._load = function _load(request, ...rest) {
    const m = load2.call(this, request, ...rest);
    if (!done && request === '@tensorflow/tfjs') patchGrads(m);
    return m;
  };
}
