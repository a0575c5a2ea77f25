// Run by gemm-webgpu.test.ts in a child process (Dawn reads its Vulkan environment at start): the
// engine's GEMM (src/engine/program/gemm.ts), every variant and epilogue, against tfjs on the cpu
// backend. Prints one JSON object; {"skip": reason} without an adapter.
import { type GemmSpec, recordGemm, resolveGemm } from '../../../src/engine/program/gemm.ts';
import { GpuArena } from '../../../src/engine/program/gpu-arena.ts';
import { StepProgram } from '../../../src/engine/program/step-program.ts';
import { type Tensor, tf } from '../../../src/engine/tf.ts';
import { gelu } from '../../../src/model/norms.ts';
import { gather, normRel, startChild } from './child-device.ts';

const { device, randn, finish } = await startChild('engine-gemm');

/** max |got − want| / max |want| over C's elements (strided), how many floats outside C changed, and for GELU the same for the kept pre-activation. */
async function gemmCase(spec: GemmSpec) {
  const s = resolveGemm(spec);
  const aRows = s.transA ? s.K : s.M;
  const bRows = s.transB ? s.N : s.K;
  const lenA = (s.batch - 1) * s.strideA + (aRows - 1) * s.lda + (s.transA ? s.M : s.K);
  const lenB = (s.batch - 1) * s.strideB + (bRows - 1) * s.ldb + (s.transB ? s.K : s.N);
  const lenC = (s.batch - 1) * s.strideC + (s.M - 1) * s.ldc + s.N;
  const a = randn(lenA);
  const b = randn(lenB);
  const c0 = randn(lenC);
  const bias = randn(s.N);
  const rowScale = randn(s.batch * s.M);
  const pre0 = randn(lenC).map((u) => 2 * u); // dgelu's u, over GELU's curved range
  // all operands in one arena: inputs and output share a buffer, as in the step program
  const arena = new GpuArena(device, 'gemm-case', [
    { name: 'a', length: lenA },
    { name: 'b', length: lenB },
    { name: 'c', length: lenC },
    { name: 'bias', length: s.N },
    { name: 'rowScale', length: s.batch * s.M },
    { name: 'pre', length: lenC },
  ]);
  arena.write('a', a);
  arena.write('b', b);
  arena.write('c', c0);
  arena.write('bias', bias);
  arena.write('rowScale', rowScale);
  arena.write('pre', pre0);
  const program = new StepProgram(device);
  recordGemm(program, 'gemm', spec, {
    a: arena.binding('a'),
    b: arena.binding('b'),
    c: arena.binding('c'),
    ...(s.bias ? { bias: arena.binding('bias') } : {}),
    ...(s.rowScale ? { rowScale: arena.binding('rowScale') } : {}),
    ...(s.activation !== 'none' ? { pre: arena.binding('pre') } : {}),
  });
  program.run();
  const [c, pre] = (await arena.read(['c', 'pre'])) as [Float32Array, Float32Array];
  arena.destroy();
  const err = { c: [0, 0], pre: [0, 0] }; // [max |Δ|, max |ref|]
  const compare = (which: 'c' | 'pre', got: Float32Array, want: ArrayLike<number>, z: number) => {
    for (let m = 0; m < s.M; m++) {
      for (let n = 0; n < s.N; n++) {
        const w = want[m * s.N + n] as number;
        err[which][1] = Math.max(err[which][1] as number, Math.abs(w));
        err[which][0] = Math.max(err[which][0] as number, Math.abs((got[z * s.strideC + m * s.ldc + n] as number) - w));
      }
    }
  };
  for (let z = 0; z < s.batch; z++) {
    const [v, act] = tf.tidy(() => {
      const A = gather(a, z * s.strideA, aRows, s.transA ? s.M : s.K, s.lda);
      const B = gather(b, z * s.strideB, bRows, s.transB ? s.K : s.N, s.ldb);
      let y = tf.matMul(A, B, s.transA, s.transB);
      if (s.rowScale) y = tf.mul(y, tf.tensor2d(rowScale.subarray(z * s.M, (z + 1) * s.M), [s.M, 1]));
      if (s.bias) y = tf.add(y, tf.tensor1d(bias));
      if (s.accumulate) y = tf.add(y, gather(c0, z * s.strideC, s.M, s.N, s.ldc));
      if (s.activation === 'gelu') return [y.dataSync(), gelu(y).dataSync()];
      if (s.activation === 'dgelu') {
        const u = gather(pre0, z * s.strideC, s.M, s.N, s.ldc);
        const grad = tf.grads((x: Tensor) => tf.sum(tf.mul(gelu(x), y)))([u])[0] as Tensor;
        return [y.dataSync(), grad.dataSync()];
      }
      return [y.dataSync(), y.dataSync()];
    });
    compare('c', c, act, z);
    if (s.activation === 'gelu') compare('pre', pre, v, z);
  }
  // C's padding between strided rows and batch items is not written
  const inC = new Uint8Array(lenC);
  for (let z = 0; z < s.batch; z++) for (let m = 0; m < s.M; m++) inC.fill(1, z * s.strideC + m * s.ldc, z * s.strideC + m * s.ldc + s.N);
  let outsideChanged = 0;
  for (let i = 0; i < lenC; i++) if (!inC[i] && c[i] !== c0[i]) outsideChanged++;
  return { rel: (err.c[0] as number) / (err.c[1] as number), preRel: s.activation === 'gelu' ? (err.pre[0] as number) / (err.pre[1] as number) : 0, outsideChanged };
}

const shapes: [number, number, number][] = [
  [37, 53, 29],
  [1, 1, 1],
  [130, 257, 65],
  [64, 64, 16],
  [65, 3, 300],
  [2, 129, 17],
];
const cases: { name: string; spec: GemmSpec }[] = [];
for (const [M, N, K] of shapes) {
  for (const [transA, transB] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    cases.push({ name: `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} ${M}×${N}×${K}`, spec: { transA, transB, M, N, K } });
  }
}
cases.push({ name: 'NN 130×257×65 + bias', spec: { transA: false, transB: false, M: 130, N: 257, K: 65, bias: true } });
cases.push({ name: 'TN 37×53×29 accumulate', spec: { transA: true, transB: false, M: 37, N: 53, K: 29, accumulate: true } });
cases.push({ name: 'NT batch 3, 37×53×29', spec: { transA: false, transB: true, M: 37, N: 53, K: 29, batch: 3 } });
cases.push({
  name: 'NN strided: batch 2, lda 40, ldb 33, ldc 50, padded batch strides, bias, accumulate',
  spec: { transA: false, transB: false, M: 20, N: 30, K: 17, batch: 2, lda: 40, ldb: 33, ldc: 50, strideA: 20 * 40 + 5, strideB: 17 * 33 + 3, strideC: 20 * 50 + 9, bias: true, accumulate: true },
});
cases.push({ name: 'TN strided: lda 70 (a column block of a wider matrix)', spec: { transA: true, transB: false, M: 37, N: 20, K: 45, lda: 70 } });
cases.push({ name: 'NT 130×257×65 + bias, GELU keeping the pre-activation', spec: { transA: false, transB: true, M: 130, N: 257, K: 65, bias: true, activation: 'gelu' } });
cases.push({ name: 'NN 37×53×29 · gelu′(u)', spec: { transA: false, transB: false, M: 37, N: 53, K: 29, activation: 'dgelu' } });
cases.push({ name: 'NN batch 2, 37×53×29, row scale + bias', spec: { transA: false, transB: false, M: 37, N: 53, K: 29, batch: 2, rowScale: true, bias: true } });

const gemm: Record<string, { rel: number; preRel: number; outsideChanged: number }> = {};
for (const c of cases) gemm[c.name] = await gemmCase(c.spec);

/** y = x·Wᵀ + bias with the depth epilogue Ĥ = H' + B⊗y, against tfjs: errors of y and Ĥ. */
async function depthGemmCase(M: number, N: number, K: number, n: number) {
  const a = randn(M * K);
  const w = randn(N * K);
  const bias = randn(N);
  const hm = randn(M * n * N);
  const wb = randn(M * n);
  const arena = new GpuArena(device, 'depth-gemm', [
    { name: 'a', length: a.length },
    { name: 'w', length: w.length },
    { name: 'y', length: M * N },
    { name: 'bias', length: N },
    { name: 'hm', length: hm.length },
    { name: 'wb', length: wb.length },
    { name: 'hout', length: hm.length },
  ]);
  for (const [name, v] of [['a', a], ['w', w], ['bias', bias], ['hm', hm], ['wb', wb]] as const) arena.write(name, v);
  const program = new StepProgram(device);
  const at = (name: string) => arena.binding(name);
  recordGemm(program, 'c_proj + depth', { transA: false, transB: true, M, N, K, bias: true, depth: { nStreams: n } }, { a: at('a'), b: at('w'), c: at('y'), bias: at('bias'), streamsIn: at('hm'), write: at('wb'), streamsOut: at('hout') });
  program.run();
  const got = await arena.read(['y', 'hout']);
  arena.destroy();
  const want = tf.tidy(() => {
    const y = tf.add(tf.matMul(tf.tensor2d(a, [M, K]), tf.tensor2d(w, [N, K]), false, true), tf.tensor1d(bias));
    const hout = tf.add(tf.tensor3d(hm, [M, n, N]), tf.mul(tf.tensor3d(wb, [M, n, 1]), tf.reshape(y, [M, 1, N])));
    return [y.dataSync(), hout.dataSync()];
  });
  return want.map((w, i) => normRel(got[i] as Float32Array, w));
}
const depthGemm = {
  '37×53×29, n 4': await depthGemmCase(37, 53, 29, 4),
  '130×65×257, n 1': await depthGemmCase(130, 65, 257, 1),
  '2×3×5, n 8': await depthGemmCase(2, 3, 5, 8),
};

await finish({ gemm, depthGemm });
