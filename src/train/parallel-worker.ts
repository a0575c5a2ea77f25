// A data-parallel worker thread: its own TensorFlow.js wasm instance computes the loss and
// gradients of its share of each batch, exchanged with the main thread through shared memory.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../engine/backend.ts';
import { assignValues, tf, type Scalar, type Variable } from '../engine/tf.ts';
import type { ModelConfig } from '../model/config.ts';
import { initParams } from '../model/params.ts';
import { lossFn } from '../model/transformer.ts';
import { CMD_EXIT, CMD_STEP, type SharedLayout, sharedViews, STATUS_DONE, STATUS_ERROR } from './parallel-protocol.ts';

interface Init {
  model: ModelConfig;
  names: string[];
  layout: SharedLayout;
  buffers: SharedArrayBuffer[];
}

const init = workerData as Init;
await initBackend('wasm');
const params = initParams(init.model, 0);
const vars = init.names.map((n) => params.get(n) as Variable);
const v = sharedViews(init.layout, init.buffers);
parentPort?.postMessage('ready');

for (;;) {
  Atomics.wait(v.ctrl, 0, 0);
  const cmd = Atomics.load(v.ctrl, 0);
  if (cmd === CMD_EXIT) break;
  if (cmd !== CMD_STEP) continue;
  // Consume the command before working, so the next one cannot be overwritten.
  Atomics.store(v.ctrl, 0, 0);
  try {
    let off = 0;
    for (const x of vars) {
      assignValues(x, v.params.subarray(off, off + x.size));
      off += x.size;
    }
    const rows = v.ctrl[1] as number;
    const seqLen = v.ctrl[2] as number;
    const { value, grads } = tf.tidy(() => {
      const tokens = tf.tensor2d(v.tokens.subarray(0, rows * seqLen), [rows, seqLen], 'int32');
      const targets = tf.tensor2d(v.targets.subarray(0, rows * seqLen), [rows, seqLen], 'int32');
      return tf.variableGrads(() => lossFn(params, init.model, tokens, targets) as Scalar, vars);
    });
    v.loss[0] = value.dataSync()[0] as number;
    value.dispose();
    off = 0;
    for (const x of vars) {
      const g = grads[x.name];
      if (g) {
        v.grads.set(g.dataSync() as Float32Array, off);
        g.dispose();
      } else v.grads.fill(0, off, off + x.size);
      off += x.size;
    }
    Atomics.store(v.ctrl, 3, STATUS_DONE);
  } catch (e) {
    v.loss[0] = Number.NaN;
    parentPort?.postMessage({ error: (e as Error).stack ?? String(e) });
    Atomics.store(v.ctrl, 3, STATUS_ERROR);
  }
  Atomics.notify(v.ctrl, 3);
}
