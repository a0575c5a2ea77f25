// Run by program-webgpu.test.ts in a child process (Dawn reads its Vulkan environment at start):
// the engine's arena, step program and GEMM on a WebGPU device, against tfjs matMul on the cpu
// backend. Prints one JSON object; {"skip": reason} without an adapter.
import { initBackend } from '../../../src/engine/backend.ts';
import { requestEngineDevice } from '../../../src/engine/program/engine-device.ts';
import { type AttentionSpec, recordAttentionBackward, recordAttentionForward } from '../../../src/engine/program/attention.ts';
import { type ColumnSumSpec, columnSumChunks, recordColumnSum } from '../../../src/engine/program/column-sum.ts';
import { type GemmSpec, recordGemm, resolveGemm } from '../../../src/engine/program/gemm.ts';
import { recordCrossEntropy } from '../../../src/engine/program/cross-entropy.ts';
import { type DepthSpec, recordDepthBackward, recordDepthForward } from '../../../src/engine/program/depth-connection.ts';
import { GpuArena } from '../../../src/engine/program/gpu-arena.ts';
import { type NormSpec, recordNormBackward, recordNormForward } from '../../../src/engine/program/norm.ts';
import { ReadbackRing } from '../../../src/engine/program/readback-ring.ts';
import { cachedPipeline, StepProgram } from '../../../src/engine/program/step-program.ts';
import { recordWidthBackward, recordWidthForward, type WidthSpec } from '../../../src/engine/program/width-connection.ts';
import { rngFor } from '../../../src/engine/random.ts';
import { type Tensor, tf } from '../../../src/engine/tf.ts';
import { gainLayerNorm, gelu, layerNorm, rmsNorm } from '../../../src/model/norms.ts';
import { crossEntropy } from '../../../src/model/transformer.ts';

const engine = await requestEngineDevice().catch((e: Error) => e);
if (!engine || engine instanceof Error) {
  process.stdout.write(`${JSON.stringify({ skip: engine ? engine.message : 'Dawn offers no adapter' })}\n`);
  process.exit(0);
}
await initBackend('cpu');
const { device } = engine;
const errors: string[] = [];
device.addEventListener('uncapturederror', (e) => errors.push((e as GPUUncapturedErrorEvent).error.message));
const rng = rngFor(11, 'engine-gemm');
const randn = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** Rows × cols at `base` with row stride `ld`, as a packed tfjs matrix. */
function gather(x: Float32Array, base: number, rows: number, cols: number, ld: number) {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) out.set(x.subarray(base + r * ld, base + r * ld + cols), r * cols);
  return tf.tensor2d(out, [rows, cols]);
}

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
  return want.map((wv, i) => {
    let diff = 0;
    let ref = 0;
    wv.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(((got[i] as Float32Array)[j] as number) - v));
      ref = Math.max(ref, Math.abs(v));
    });
    return diff / ref;
  });
}
const depthGemm = {
  '37×53×29, n 4': await depthGemmCase(37, 53, 29, 4),
  '130×65×257, n 1': await depthGemmCase(130, 65, 257, 1),
  '2×3×5, n 8': await depthGemmCase(2, 3, 5, 8),
};

/** Column sums against tf.sum over rows: norm-relative error and the program's dispatch count. */
async function columnSumCase(spec: ColumnSumSpec) {
  const ld = spec.ld ?? spec.cols;
  const chunks = spec.chunks ?? 1;
  const x = randn((spec.rows - 1) * ld + spec.cols);
  const out0 = randn(spec.cols);
  const arena = new GpuArena(device, 'colsum-case', [
    { name: 'x', length: x.length },
    { name: 'out', length: spec.cols },
    { name: 'partial', length: chunks * spec.cols },
  ]);
  arena.write('x', x);
  arena.write('out', out0);
  const program = new StepProgram(device);
  recordColumnSum(program, 'colsum', spec, { x: arena.binding('x'), out: arena.binding('out'), ...(chunks > 1 ? { partial: arena.binding('partial') } : {}) });
  program.run();
  const [out] = (await arena.read(['out'])) as [Float32Array];
  arena.destroy();
  const want = tf.tidy(() => {
    const y = tf.sum(gather(x, 0, spec.rows, spec.cols, ld), 0);
    return (spec.accumulate ? tf.add(y, tf.tensor1d(out0)) : y).dataSync();
  });
  let diff = 0;
  let ref = 0;
  want.forEach((w, i) => {
    diff = Math.max(diff, Math.abs((out[i] as number) - w));
    ref = Math.max(ref, Math.abs(w));
  });
  return { rel: diff / ref, dispatches: program.dispatchCount };
}
const columnSums: Record<string, { rel: number; dispatches: number }> = {};
for (const [name, spec] of [
  ['1×1', { rows: 1, cols: 1 }],
  ['37×65', { rows: 37, cols: 65 }],
  ['1000×300, default chunks', { rows: 1000, cols: 300, chunks: columnSumChunks(1000) }],
  ['513×64, ld 70, 4 chunks, accumulate', { rows: 513, cols: 64, ld: 70, chunks: 4, accumulate: true }],
  ['300×1, 2 chunks', { rows: 300, cols: 1, chunks: 2 }],
  ['130×129, accumulate', { rows: 130, cols: 129, accumulate: true }],
] as const) {
  columnSums[name] = await columnSumCase(spec);
}

/** The norm's forward and gradients against model/norms.ts on tfjs cpu: norm-relative errors per output. */
async function normCase(spec: NormSpec, zeroRow: boolean) {
  const { rows, cols: D, kind } = spec;
  const bias = spec.bias ?? false;
  const x = randn(rows * D).map((v) => 2 * v + 0.5);
  if (zeroRow) x.fill(0, 0, D);
  const w = randn(D).map((v) => (kind === 'layer' ? 1 + 0.5 * v : 0.3 * v));
  const b = randn(D);
  const up = randn(rows * D);
  const dw0 = randn(D);
  const db0 = randn(D);
  const chunks = spec.chunks ?? Math.max(1, Math.min(64, Math.floor(rows / 128)));
  const arena = new GpuArena(device, 'norm-case', [
    { name: 'x', length: rows * D },
    { name: 'w', length: D },
    { name: 'b', length: D },
    { name: 'y', length: rows * D },
    { name: 'stats', length: 2 * rows },
    { name: 'dy', length: rows * D },
    { name: 'dx', length: rows * D },
    { name: 'dw', length: D },
    { name: 'db', length: D },
    { name: 'partial', length: 2 * chunks * D },
  ]);
  for (const [name, v] of [['x', x], ['w', w], ['b', b], ['dy', up], ['dw', dw0], ['db', db0]] as const) arena.write(name, v);
  const program = new StepProgram(device);
  const at = (n: string) => arena.binding(n);
  recordNormForward(program, 'norm', spec, { x: at('x'), w: at('w'), y: at('y'), stats: at('stats'), ...(bias ? { b: at('b') } : {}) });
  recordNormBackward(program, 'norm', spec, { x: at('x'), w: at('w'), stats: at('stats'), dy: at('dy'), dx: at('dx'), dw: at('dw'), ...(bias ? { db: at('db') } : {}), ...(chunks > 1 ? { partial: at('partial') } : {}) });
  program.run();
  const got = await arena.read(bias ? ['y', 'dx', 'dw', 'db'] : ['y', 'dx', 'dw']);
  arena.destroy();
  const want = tf.tidy(() => {
    const f = (xx: Tensor, ww: Tensor, bb?: Tensor) => (kind === 'layer' ? layerNorm(xx, ww, bb) : kind === 'gain' ? gainLayerNorm(xx, ww) : rmsNorm(xx, ww));
    const args = [tf.tensor2d(x, [rows, D]), tf.tensor1d(w), ...(bias ? [tf.tensor1d(b)] : [])];
    const y = f(args[0] as Tensor, args[1] as Tensor, args[2]);
    const grads = tf.grads((...a: Tensor[]) => tf.sum(tf.mul(f(a[0] as Tensor, a[1] as Tensor, a[2]), tf.tensor2d(up, [rows, D]))))(args);
    if (spec.accumulateParams) {
      grads[1] = tf.add(grads[1] as Tensor, tf.tensor1d(dw0));
      if (bias) grads[2] = tf.add(grads[2] as Tensor, tf.tensor1d(db0));
    }
    return [y, ...grads].map((t) => t.dataSync());
  });
  const names = ['y', 'dx', 'dw', 'db'];
  return Object.fromEntries(
    want.map((wv, i) => {
      let diff = 0;
      let ref = 0;
      wv.forEach((v, j) => {
        diff = Math.max(diff, Math.abs(((got[i] as Float32Array)[j] as number) - v));
        ref = Math.max(ref, Math.abs(v));
      });
      return [names[i] as string, diff / ref];
    }),
  );
}
const norms: Record<string, Record<string, number>> = {};
for (const [name, spec, zeroRow] of [
  ['layer, bias, D 48', { kind: 'layer', rows: 15, cols: 48, bias: true }, false],
  ['layer, no bias, D 300', { kind: 'layer', rows: 8, cols: 300 }, false],
  ['layer, bias, 4100 rows of 8, 32 chunks', { kind: 'layer', rows: 4100, cols: 8, bias: true }, false],
  ['layer, bias, 300 rows, 2 chunks, accumulating dw and db', { kind: 'layer', rows: 300, cols: 65, bias: true, chunks: 2, accumulateParams: true }, false],
  ['gain, D 64', { kind: 'gain', rows: 48, cols: 64 }, false],
  ['rms, D 2048', { kind: 'rms', rows: 5, cols: 2048 }, false],
  ['rms, a zero row', { kind: 'rms', rows: 4, cols: 40 }, true],
] as const) {
  norms[name] = await normCase(spec, zeroRow);
}

/** x, H', dH and dalpha against alphaᵀ·H per token through tfjs matMul and tf.grads. */
async function widthCase(spec: WidthSpec) {
  const { tokens: T, nStreams: n, dModel: d } = spec;
  const h = randn(T * n * d);
  const alpha = randn(T * n * (n + 1));
  const upx = randn(T * d);
  const uphm = randn(T * n * d);
  const dh0 = randn(T * n * d);
  const arena = new GpuArena(device, 'width-case', [
    { name: 'h', length: h.length },
    { name: 'alpha', length: alpha.length },
    { name: 'x', length: T * d },
    { name: 'hm', length: h.length },
    { name: 'dx', length: T * d },
    { name: 'dhm', length: h.length },
    { name: 'dh', length: h.length },
    { name: 'dalpha', length: alpha.length },
  ]);
  for (const [name, v] of [['h', h], ['alpha', alpha], ['dx', upx], ['dhm', uphm], ['dh', dh0]] as const) arena.write(name, v);
  const program = new StepProgram(device);
  const at = (name: string) => arena.binding(name);
  recordWidthForward(program, 'width', spec, { h: at('h'), alpha: at('alpha'), x: at('x'), hm: at('hm') });
  recordWidthBackward(program, 'width', spec, { h: at('h'), alpha: at('alpha'), dx: at('dx'), dhm: at('dhm'), dh: at('dh'), dalpha: at('dalpha') });
  program.run();
  const got = await arena.read(['x', 'hm', 'dh', 'dalpha']);
  arena.destroy();
  const want = tf.tidy(() => {
    const f = (H: Tensor, A: Tensor) => tf.matMul(A, H, true, false); // [T, n+1, d]: row 0 is x, rows 1… are H'
    const H = tf.tensor3d(h, [T, n, d]);
    const A = tf.tensor3d(alpha, [T, n, n + 1]);
    const out = f(H, A);
    const x = tf.reshape(tf.slice(out, [0, 0, 0], [T, 1, d]), [T, d]);
    const hm = tf.slice(out, [0, 1, 0], [T, n, d]);
    const [dH, dA] = tf.grads((HH: Tensor, AA: Tensor) => {
      const o = f(HH, AA);
      return tf.add(tf.sum(tf.mul(tf.slice(o, [0, 0, 0], [T, 1, d]), tf.tensor3d(upx, [T, 1, d]))), tf.sum(tf.mul(tf.slice(o, [0, 1, 0], [T, n, d]), tf.tensor3d(uphm, [T, n, d]))));
    })([H, A]) as [Tensor, Tensor];
    return [x, hm, spec.accumulate ? tf.add(dH, tf.tensor3d(dh0, [T, n, d])) : dH, dA].map((t) => t.dataSync());
  });
  const names = ['x', 'hm', 'dh', 'dalpha'];
  return Object.fromEntries(
    want.map((wv, i) => {
      let diff = 0;
      let ref = 0;
      wv.forEach((v, j) => {
        diff = Math.max(diff, Math.abs(((got[i] as Float32Array)[j] as number) - v));
        ref = Math.max(ref, Math.abs(v));
      });
      return [names[i] as string, diff / ref];
    }),
  );
}
const width: Record<string, Record<string, number>> = {};
for (const [name, spec] of [
  ['5 tokens, n 4, d 48', { tokens: 5, nStreams: 4, dModel: 48 }],
  ['3 tokens, n 1, d 7', { tokens: 3, nStreams: 1, dModel: 7 }],
  ['2 tokens, n 8, d 130 (32 invocations)', { tokens: 2, nStreams: 8, dModel: 130 }],
  ['70 tokens, n 3, d 64, dH accumulated', { tokens: 70, nStreams: 3, dModel: 64, accumulate: true }],
  ['1 token, n 6, d 1', { tokens: 1, nStreams: 6, dModel: 1 }],
] as const) {
  width[name] = await widthCase(spec);
}

/** Ĥ, dy and dB against H' + B⊗y through tfjs ops and tf.grads. */
async function depthCase(spec: DepthSpec) {
  const { tokens: T, nStreams: n, dModel: d } = spec;
  const hm = randn(T * n * d);
  const y = randn(T * d);
  const b = randn(T * n);
  const up = randn(T * n * d);
  const arena = new GpuArena(device, 'depth-case', [
    { name: 'hm', length: hm.length },
    { name: 'y', length: y.length },
    { name: 'b', length: b.length },
    { name: 'out', length: hm.length },
    { name: 'dout', length: hm.length },
    { name: 'dy', length: y.length },
    { name: 'db', length: b.length },
  ]);
  for (const [name, v] of [['hm', hm], ['y', y], ['b', b], ['dout', up]] as const) arena.write(name, v);
  const program = new StepProgram(device);
  const at = (name: string) => arena.binding(name);
  recordDepthForward(program, 'depth', spec, { hm: at('hm'), y: at('y'), b: at('b'), out: at('out') });
  recordDepthBackward(program, 'depth', spec, { y: at('y'), b: at('b'), dout: at('dout'), dy: at('dy'), db: at('db') });
  program.run();
  const got = await arena.read(['out', 'dy', 'db']);
  arena.destroy();
  const want = tf.tidy(() => {
    const f = (Y: Tensor, B: Tensor) => tf.add(tf.tensor3d(hm, [T, n, d]), tf.mul(tf.reshape(B, [T, n, 1]), tf.reshape(Y, [T, 1, d])));
    const Y = tf.tensor2d(y, [T, d]);
    const B = tf.tensor2d(b, [T, n]);
    const [dY, dB] = tf.grads((YY: Tensor, BB: Tensor) => tf.sum(tf.mul(f(YY, BB), tf.tensor3d(up, [T, n, d]))))([Y, B]) as [Tensor, Tensor];
    return [f(Y, B), dY, dB].map((t) => t.dataSync());
  });
  const names = ['out', 'dy', 'db'];
  return Object.fromEntries(
    want.map((wv, i) => {
      let diff = 0;
      let ref = 0;
      wv.forEach((v, j) => {
        diff = Math.max(diff, Math.abs(((got[i] as Float32Array)[j] as number) - v));
        ref = Math.max(ref, Math.abs(v));
      });
      return [names[i] as string, diff / ref];
    }),
  );
}
const depth: Record<string, Record<string, number>> = {};
for (const [name, spec] of [
  ['5 tokens, n 4, d 48', { tokens: 5, nStreams: 4, dModel: 48 }],
  ['3 tokens, n 1, d 7', { tokens: 3, nStreams: 1, dModel: 7 }],
  ['2 tokens, n 8, d 130', { tokens: 2, nStreams: 8, dModel: 130 }],
  ['1 token, n 6, d 1', { tokens: 1, nStreams: 6, dModel: 1 }],
] as const) {
  depth[name] = await depthCase(spec);
}

/** o, and dqkv for a random do, against model/branches.ts' attention ops (from qkv on) and tf.grads. */
async function attentionCase(spec: AttentionSpec) {
  const { batch: B, seqLen: T, nHeads: H, headDim: dh } = spec;
  const d = H * dh;
  const qkv = randn(B * T * 3 * d);
  const up = randn(B * T * d);
  const arena = new GpuArena(device, 'attention-case', [
    { name: 'qkv', length: qkv.length },
    { name: 'o', length: B * T * d },
    { name: 'lse', length: B * H * T },
    { name: 'dout', length: B * T * d },
    { name: 'drow', length: B * H * T },
    { name: 'dqkv', length: qkv.length },
  ]);
  arena.write('qkv', qkv);
  arena.write('dout', up);
  const program = new StepProgram(device);
  const at = (name: string) => arena.binding(name);
  recordAttentionForward(program, 'attn', spec, { qkv: at('qkv'), o: at('o'), lse: at('lse') });
  recordAttentionBackward(program, 'attn', spec, { qkv: at('qkv'), o: at('o'), lse: at('lse'), dout: at('dout'), drow: at('drow'), dqkv: at('dqkv') });
  program.run();
  const got = await arena.read(['o', 'dqkv']);
  arena.destroy();
  const want = tf.tidy(() => {
    const mask = new Float32Array(T * T);
    for (let i = 0; i < T; i++) mask.fill(-1e9, i * T + i + 1, (i + 1) * T);
    const f = (x: Tensor) => {
      const heads = (t: Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [B, T, H, dh]), [0, 2, 1, 3]), [B * H, T, dh]);
      const [q, k, v] = tf.split(x, 3, 1).map(heads) as [Tensor, Tensor, Tensor];
      const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), tf.tensor2d(mask, [T, T]));
      const o = tf.matMul(tf.softmax(scores, -1), v);
      return tf.reshape(tf.transpose(tf.reshape(o, [B, H, T, dh]), [0, 2, 1, 3]), [B * T, d]);
    };
    const x = tf.tensor2d(qkv, [B * T, 3 * d]);
    const [dx] = tf.grads((xx: Tensor) => tf.sum(tf.mul(f(xx), tf.tensor2d(up, [B * T, d]))))([x]) as [Tensor];
    return [f(x), dx].map((t) => t.dataSync());
  });
  const names = ['o', 'dqkv'];
  return Object.fromEntries(
    want.map((wv, i) => {
      let diff = 0;
      let ref = 0;
      wv.forEach((v, j) => {
        diff = Math.max(diff, Math.abs(((got[i] as Float32Array)[j] as number) - v));
        ref = Math.max(ref, Math.abs(v));
      });
      return [names[i] as string, diff / ref];
    }),
  );
}
const attention: Record<string, Record<string, number>> = {};
for (const [name, spec] of [
  ['B 2, T 17, H 3, dh 8', { batch: 2, seqLen: 17, nHeads: 3, headDim: 8 }],
  ['B 1, T 1, H 1, dh 4', { batch: 1, seqLen: 1, nHeads: 1, headDim: 4 }],
  ['B 3, T 5, H 4, dh 7', { batch: 3, seqLen: 5, nHeads: 4, headDim: 7 }],
  ['B 1, T 64, H 2, dh 64', { batch: 1, seqLen: 64, nHeads: 2, headDim: 64 }],
] as const) {
  attention[name] = await attentionCase(spec);
}

/** Per-row losses and the in-place gradient against model/transformer.ts' crossEntropy and tf.grads. */
async function crossEntropyCase(rows: number, vocab: number) {
  const logits = randn(rows * vocab).map((v) => 3 * v);
  const targets = Int32Array.from({ length: rows }, () => rng.int(vocab));
  const arena = new GpuArena(device, 'ce-case', [
    { name: 'z', length: logits.length },
    { name: 'losses', length: rows },
  ]);
  arena.write('z', logits);
  const tbuf = device.createBuffer({ label: 'targets', size: 4 * rows, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(tbuf, 0, Uint32Array.from(targets));
  const program = new StepProgram(device);
  recordCrossEntropy(program, 'ce', { rows, vocab, scale: 1 / rows }, { logits: arena.binding('z'), targets: { buffer: tbuf }, losses: arena.binding('losses') });
  program.run();
  const [dz, losses] = (await arena.read(['z', 'losses'])) as [Float32Array, Float32Array];
  arena.destroy();
  tbuf.destroy();
  const [wantLosses, wantMean, wantGrad] = tf.tidy(() => {
    const z = tf.tensor3d(logits, [1, rows, vocab]);
    const y = tf.tensor2d(targets, [1, rows], 'int32');
    const perRow = tf.neg(tf.sum(tf.mul(tf.logSoftmax(tf.reshape(z, [rows, vocab])), tf.oneHot(tf.reshape(y, [rows]), vocab)), -1));
    const [g] = tf.grads((zz: Tensor) => crossEntropy(zz, y))([z]) as [Tensor];
    return [perRow.dataSync(), crossEntropy(z, y).dataSync()[0] as number, g.dataSync()];
  });
  const rel = (got: Float32Array, want: ArrayLike<number>) => {
    let diff = 0;
    let ref = 0;
    for (let i = 0; i < got.length; i++) {
      diff = Math.max(diff, Math.abs((got[i] as number) - (want[i] as number)));
      ref = Math.max(ref, Math.abs(want[i] as number));
    }
    return diff / ref;
  };
  const mean = losses.reduce((a, b) => a + b, 0) / rows;
  return { losses: rel(losses, wantLosses), mean: Math.abs(mean - wantMean) / Math.abs(wantMean), grad: rel(dz, wantGrad) };
}
const crossEntropyCases = {
  '5 rows, V 7': await crossEntropyCase(5, 7),
  '37 rows, V 1000': await crossEntropyCase(37, 1000),
  '3 rows, V 2': await crossEntropyCase(3, 2),
  '2 rows, V 50304': await crossEntropyCase(2, 50304),
};

// The program: N dispatches of "x += 1" on one slice run in order in one submit; a copy splits the pass.
const INC = `
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < arrayLength(&x)) { x[gid.x] = x[gid.x] + 1.0; }
}`;
const arena = new GpuArena(device, 'counter', [
  { name: 'x', length: 100 },
  { name: 'y', length: 100 },
  { name: 'pad', length: 3 },
  { name: 'z', length: 70 },
]);
const inc = cachedPipeline(device, 'test.inc', () => INC);
const chain = new StepProgram(device);
for (let i = 0; i < 7; i++) chain.dispatch(`inc ${i}`, inc, [arena.binding('x')], [2]);
chain.run();
const split = new StepProgram(device);
for (let i = 0; i < 3; i++) split.dispatch(`inc z ${i}`, inc, [arena.binding('z')], [2]);
const outArena = new GpuArena(device, 'copied out', [{ name: 'z', length: 70 }]);
split.copy('z → out', arena.binding('z'), outArena.binding('z'));
for (let i = 0; i < 2; i++) split.dispatch(`inc z again ${i}`, inc, [arena.binding('z')], [2]);
split.run();
split.run();
const [x, y, z] = (await arena.read(['x', 'y', 'z'])) as [Float32Array, Float32Array, Float32Array];
const [copied] = (await outArena.read(['z'])) as [Float32Array];
const sameBuffer = (() => {
  try {
    new StepProgram(device).copy('z → y', arena.binding('z'), { buffer: arena.buffer, offset: arena.slice('y').offset, size: 4 * 70 });
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
})();
const overlap = (() => {
  const p = new StepProgram(device);
  try {
    recordGemm(p, 'aliased', { transA: false, transB: false, M: 4, N: 4, K: 4 }, { a: arena.binding('x'), b: arena.binding('y'), c: { buffer: arena.buffer, offset: 0, size: 64 } });
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
})();
const misaligned = (() => {
  const p = new StepProgram(device);
  try {
    p.dispatch('misaligned', inc, [{ buffer: arena.buffer, offset: 4, size: 16 }], [1]);
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
})();
// The readback ring: each step increments `w` (4 floats) and copies w[0..1] and x[0] out in the
// same submit; step t's values are awaited after step t+1 is submitted.
const ringArena = new GpuArena(device, 'ring', [{ name: 'w', length: 4 }]);
const ringProgram = new StepProgram(device);
ringProgram.dispatch('inc w', inc, [ringArena.binding('w')], [1]);
const ring = new ReadbackRing(device, [{ buffer: ringArena.buffer, offset: 0, size: 8 }, { buffer: arena.buffer, offset: 0, size: 4 }]);
const seen: number[][] = [];
let pending: Promise<Float32Array> | undefined;
for (let step = 0; step < 4; step++) {
  ringProgram.run((enc) => ring.encode(enc));
  const now = ring.collect();
  if (pending) seen.push([...(await pending)]);
  pending = now;
}
seen.push([...(await (pending as Promise<Float32Array>))]);
ring.destroy();
// a third step's copies while both buffers of a depth-2 ring wait to be read
const unread = new ReadbackRing(device, [{ buffer: ringArena.buffer, offset: 0, size: 8 }]);
unread.encode(device.createCommandEncoder());
unread.encode(device.createCommandEncoder());
let fullRing = 'no error';
try {
  unread.encode(device.createCommandEncoder());
} catch (e) {
  fullRing = (e as Error).message;
}
unread.destroy();
ringArena.destroy();
await device.queue.onSubmittedWorkDone();
const out = {
  crossEntropy: crossEntropyCases,
  attention,
  depthGemm,
  depth,
  width,
  norms,
  columnSums,
  ring: { seen, submits: ringProgram.submitCount, fullRing },
  device: engine.description,
  align: device.limits.minStorageBufferOffsetAlignment,
  offsets: arena.layout.slices.map((s) => s.offset),
  gemm,
  chain: { dispatches: chain.dispatchCount, passes: chain.passCount, submits: chain.submitCount, x: [Math.min(...x), Math.max(...x)] },
  split: { dispatches: split.dispatchCount, passes: split.passCount, submits: split.submitCount, copied: [Math.min(...copied), Math.max(...copied)], z: [Math.min(...z), Math.max(...z)] },
  untouched: Math.max(...y.map(Math.abs)),
  sameBuffer,
  overlap,
  misaligned,
  errors,
};
arena.destroy();
outArena.destroy();
device.destroy();
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
