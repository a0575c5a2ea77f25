// The wasm backend's replaced Slice, Unpack, SplitV, Concat, Cast, Sum and Identity kernels
// (src/engine/wasm/tfjs-kernels.ts) against the cpu backend's: the same values for contiguous and
// strided slices of ranks 1–5, unstacking along every axis, uneven splits, concatenations along
// every axis (int32 and bool too), sums over every block of axes, and a clone that outlives its source.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { type Tensor, tf } from '../../src/engine/tf.ts';

type Case = { what: string; run: (x: Tensor) => Tensor | Tensor[] };
const shape = [3, 4, 5, 2, 3];
const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i * 0.5 - 7);

const cases: Case[] = [
  { what: 'rank 1 middle', run: (x) => tf.slice(tf.reshape(x, [-1]), [17], [40]) },
  { what: 'rank 2 columns', run: (x) => tf.slice(tf.reshape(x, [12, 30]), [2, 5], [7, 11]) },
  { what: 'rank 2 whole rows', run: (x) => tf.slice(tf.reshape(x, [12, 30]), [3, 0], [4, 30]) },
  { what: 'rank 3 inner', run: (x) => tf.slice(tf.reshape(x, [12, 5, 6]), [1, 2, 1], [3, 2, 4]) },
  { what: 'rank 4 one middle index', run: (x) => tf.slice(tf.reshape(x, [3, 4, 5, 6]), [0, 1, 0, 0], [-1, 1, -1, -1]) },
  { what: 'rank 5 strided', run: (x) => tf.slice(x, [1, 1, 2, 0, 1], [2, 3, 2, 2, 2]) },
  { what: 'rank 5 whole', run: (x) => tf.slice(x, [0, 0, 0, 0, 0], shape) },
  ...[0, 1, 2, 4].map((axis) => ({ what: `unstack axis ${axis}`, run: (x: Tensor) => tf.unstack(x, axis) })),
  { what: 'uneven split axis 1', run: (x) => tf.split(x, [1, 3], 1) },
  { what: 'even split last axis', run: (x) => tf.split(tf.reshape(x, [3, 4, 5, 6]), 3, 3) },
  { what: 'int32 slice', run: (x) => tf.slice(tf.cast(tf.reshape(x, [12, 30]), 'int32'), [1, 1], [2, 3]) },
  { what: 'bool slice', run: (x) => tf.slice(tf.greater(tf.reshape(x, [12, 30]), 0), [1, 3], [5, 7]) },
  { what: 'empty slice', run: (x) => tf.slice(x, [0, 0, 0, 0, 0], [3, 0, 5, 2, 3]) },
  ...[0, 1, 2, 3].map((axis) => ({ what: `concat axis ${axis}`, run: (x: Tensor) => tf.concat([tf.slice(tf.reshape(x, [3, 4, 5, 6]), [0, 0, 0, 0], [axis === 0 ? 1 : 3, axis === 1 ? 1 : 4, axis === 2 ? 2 : 5, axis === 3 ? 5 : 6]), tf.reshape(x, [3, 4, 5, 6]), tf.neg(tf.reshape(x, [3, 4, 5, 6]))], axis) })),
  { what: 'concat narrow columns', run: (x) => tf.concat([tf.reshape(x, [72, 5]), tf.slice(tf.reshape(x, [360, 1]), [0, 0], [72, 1])], 1) },
  { what: 'concat int32 and bool', run: (x) => [tf.concat([tf.cast(tf.reshape(x, [12, 30]), 'int32'), tf.cast(tf.reshape(x, [12, 30]), 'int32')], 1), tf.concat([tf.greater(x, 1), tf.less(x, 0)], 4)] },
  { what: 'cast to the same dtype', run: (x) => tf.cast(x, 'float32') },
  ...[[0], [1], [2], [0, 1], [1, 2], [0, 1, 2], [3], [2, 3], [0, 1, 2, 3], [0, 2]].flatMap((axes) => [false, true].map((keepDims) => ({ what: `sum axes ${axes}${keepDims ? ' keepDims' : ''}`, run: (x: Tensor) => tf.sum(tf.reshape(x, [3, 2, 5, 12]), axes, keepDims) }))),
  { what: 'sum middle of [2048, 128] shaped', run: (x) => tf.sum(tf.tile(tf.reshape(tf.slice(tf.reshape(x, [-1]), [0], [256]), [2, 128]), [1024, 1]), 0) },
];

async function valuesOn(backend: 'cpu' | 'wasm'): Promise<Map<string, number[][]>> {
  await initBackend(backend);
  const out = new Map<string, number[][]>();
  tf.tidy(() => {
    const x = tf.tensor(values, shape);
    for (const c of cases) {
      const r = c.run(x);
      out.set(c.what, (Array.isArray(r) ? r : [r]).map((t) => [...t.shape, -1, ...Array.from(t.dataSync())]));
    }
  });
  return out;
}

test('wasm Slice, Unpack, SplitV, Concat, Cast and Sum give the cpu backend\'s values', async () => {
  const wasm = await valuesOn('wasm');
  const cpu = await valuesOn('cpu');
  for (const c of cases) assert.deepEqual(wasm.get(c.what), cpu.get(c.what), c.what);
});

test('wasm Identity shares the buffer: a clone keeps its values after the source is disposed', async () => {
  await initBackend('wasm');
  const x = tf.tensor([1, 2, 3]);
  const y = tf.clone(x);
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3]);
  const z = tf.add(y, 1);
  assert.deepEqual(Array.from(z.dataSync()), [2, 3, 4]);
  y.dispose();
  z.dispose();
});

test('wasm gradients through saved, sliced and unstacked tensors equal the cpu backend\'s', async () => {
  const grads = async (backend: 'cpu' | 'wasm') => {
    await initBackend(backend);
    return tf.tidy(() => {
      const x = tf.tensor(values.slice(0, 60), [3, 4, 5]);
      const w = tf.tensor(values.slice(0, 20).map((v) => v / 10), [4, 5]);
      const f = (a: Tensor) => {
        const parts = tf.unstack(tf.mul(a, w), 0).map((p, i) => tf.mul(tf.exp(tf.slice(p, [1, 0], [2, 5])), i + 1));
        const [s1, s2] = tf.split(tf.tanh(tf.stack(parts)), [2, 3], 2);
        return tf.add(tf.sum(tf.square(s1 as Tensor)), tf.sum(s2 as Tensor));
      };
      return Array.from(tf.grad(f)(x).dataSync());
    });
  };
  const wasm = await grads('wasm');
  const cpu = await grads('cpu');
  const off = Math.max(...wasm.map((v, i) => Math.abs(v - (cpu[i] as number)) / Math.max(1, Math.abs(v))));
  assert.ok(off < 1e-5, `gradients differ by ${off}`);
});
