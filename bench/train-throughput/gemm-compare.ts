// Our blocked wasm product (gemmNN through mixNN) against tfjs-wasm's plain 2-D matMul (XNNPACK)
// on the dense shapes of a training step, interleaved. usage: node --import tsx bench/train-throughput/gemm-compare.ts [rounds=5]
import { initBackend } from '../../src/engine/backend.ts';
import { tf } from '../../src/engine/tf.ts';
import { mixNN } from '../../src/engine/wasm/tfjs-kernels.ts';

await initBackend('wasm');
const rounds = Number(process.argv[2] ?? 5);
const shapes: [number, number, number][] = [[512, 512, 128], [512, 128, 512], [128, 512, 512], [512, 128, 384], [128, 512, 384], [512, 384, 128]];
const time = (f: () => void, reps: number) => {
  f();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) f();
  return (performance.now() - t0) / reps;
};
for (const [m, k, n] of shapes) {
  const a = tf.randomNormal([m, k]);
  const b = tf.randomNormal([k, n]);
  const b3 = tf.reshape(b, [1, k, n]);
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    theirs.push(time(() => tf.matMul(a, b).dispose(), 10));
    ours.push(time(() => mixNN(a, b3, m, { rsA: k, csA: 1, bsA: 0 }).dispose(), 10));
  }
  const med = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)] as number;
  const gf = (ms: number) => ((2 * m * k * n) / ms / 1e6).toFixed(1);
  console.log(`[${m},${k}]@[${k},${n}]: tfjs ${med(theirs).toFixed(2)} ms (${gf(med(theirs))} GFLOP/s), ours ${med(ours).toFixed(2)} ms (${gf(med(ours))} GFLOP/s)`);
  // aᵀ b as a weight gradient: tfjs transposes a (explicit mode), ours reads it through strides
  const at = tf.randomNormal([k, m]);
  const oursT: number[] = [];
  const theirsT: number[] = [];
  for (let r = 0; r < rounds; r++) {
    theirsT.push(time(() => tf.tidy(() => tf.matMul(tf.transpose(at), b)).dispose(), 10));
    oursT.push(time(() => mixNN(at, b3, m, { rsA: 1, csA: m, bsA: 0 }).dispose(), 10));
  }
  console.log(`  [${k},${m}]ᵀ@[${k},${n}]: tfjs transpose + matMul ${med(theirsT).toFixed(2)} ms, ours strided ${med(oursT).toFixed(2)} ms`);
}
