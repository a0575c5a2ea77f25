// Run by webgpu-norms.test.ts in a child process: the fused webgpu norms (forward and gradients)
// against the ops' tfjs composites on the same backend, through model/norms.ts. Prints one JSON
// object.
import { initBackend } from '../../src/engine/backend.ts';
import { constantMemory } from '../../src/engine/constants.ts';
import { rngFor } from '../../src/engine/random.ts';
import { tf, type Tensor } from '../../src/engine/tf.ts';
import { gainLayerNorm, layerNorm, rmsNorm } from '../../src/model/norms.ts';

const backend = await initBackend('webgpu').catch((e: Error) => e);
if (backend instanceof Error) {
  process.stdout.write(`${JSON.stringify({ skip: backend.message })}\n`);
  process.exit(0);
}
const rng = rngFor(3, 'webgpu-norms');
const randn = (shape: number[], scale = 1, offset = 0) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => offset + scale * rng.normal()), shape);

/** Output and gradients (for a random upstream gradient) with the fused programs on or off. */
function run(kind: string, fused: boolean, x: Tensor, w: Tensor, b: Tensor | undefined, up: Tensor) {
  process.env.HCPROBE_FUSED = fused ? '1' : '0';
  const f = (xx: Tensor, ww: Tensor, bb?: Tensor) => (kind === 'layer' ? layerNorm(xx, ww, bb) : kind === 'gain' ? gainLayerNorm(xx, ww) : rmsNorm(xx, ww));
  const y = tf.tidy(() => f(x, w, b));
  const args = b ? [x, w, b] : [x, w];
  const grads = tf.tidy(() => tf.grads((...a: Tensor[]) => tf.sum(tf.mul(f(a[0] as Tensor, a[1] as Tensor, a[2]), up)))(args));
  const out = [y, ...grads].map((t) => Float64Array.from(t.dataSync()));
  for (const t of [y, ...grads]) t.dispose();
  return out;
}

const maxAbs = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const cases: { name: string; kind: string; shape: number[]; bias?: boolean; zeroRow?: boolean }[] = [
  { name: 'layer, bias, D 48', kind: 'layer', shape: [3, 5, 48], bias: true },
  { name: 'layer, no bias, D 300', kind: 'layer', shape: [2, 4, 300] },
  { name: 'layer, bias, 4100 rows', kind: 'layer', shape: [4100, 8], bias: true },
  { name: 'gain, D 64', kind: 'gain', shape: [2, 6, 4, 64] },
  { name: 'rms, D 2048', kind: 'rms', shape: [5, 2048] },
  { name: 'rms, a zero row', kind: 'rms', shape: [4, 40], zeroRow: true },
];
const results = cases.map((c) => {
  const D = c.shape.at(-1) as number;
  let x = randn(c.shape, 2, 0.5);
  if (c.zeroRow) {
    const z = tf.concat([tf.zeros([1, D]), tf.slice(x, [1, 0], [-1, -1])]);
    x.dispose();
    x = z;
  }
  const w = c.kind === 'layer' ? randn([D], 0.3, 1) : randn([D], 0.3);
  const b = c.bias ? randn([D], 0.3) : undefined;
  const up = randn(c.shape);
  const fused = run(c.kind, true, x, w, b, up);
  const ops = run(c.kind, false, x, w, b, up);
  const parts = ['y', 'dx', 'dw', 'db'].slice(0, fused.length);
  // error relative to the largest magnitude of each output
  const err = Object.fromEntries(parts.map((p, i) => {
    const a = fused[i] as Float64Array;
    const e = ops[i] as Float64Array;
    let m = 0;
    for (let j = 0; j < a.length; j++) m = Math.max(m, Math.abs((a[j] as number) - (e[j] as number)));
    return [p, m / Math.max(maxAbs(e), 1e-30)];
  }));
  const finite = fused.every((a) => a.every(Number.isFinite));
  return { name: c.name, err, finite, zeroRowY: c.zeroRow ? maxAbs((fused[0] as Float64Array).subarray(0, D)) : undefined };
});
// constants built on first use (engine/constants.ts: the reduction gradients' ones) are kept on purpose
const live = () => tf.memory().numTensors - constantMemory().numTensors;
const before = live();
{
  process.env.HCPROBE_FUSED = '1';
  const x = randn([4, 32]);
  const w = randn([32]);
  tf.dispose(tf.grads((a: Tensor) => tf.sum(layerNorm(a, w, undefined)))([x]));
  tf.dispose([x, w]);
}
process.stdout.write(`${JSON.stringify({ device: backend.device, results, leaked: live() - before })}\n`);
process.exit(0);
