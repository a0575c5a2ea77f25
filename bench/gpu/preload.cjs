// Preload for the GPU benchmark (node --require bench/gpu/preload.cjs bin/hcprobe.mjs ...).
// It changes no source file; it only adapts TensorFlow.js in this process:
//
// 1. Flags. HCPROBE_TFJS_FLAGS=WEBGPU_CPU_FORWARD=false,WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=30 sets
//    tfjs flags before any backend registers them. tfjs reads such overrides only from a browser
//    URL; its Environment keeps them in `urlFlags` and applies them at registration, so filling
//    urlFlags works the same in Node.
//
// Items 2-4 below were moved into src/engine/webgpu-node.ts, which `--backend webgpu` installs
// itself; this file now only sets flags. Their descriptions stay as the record of what was found.
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
