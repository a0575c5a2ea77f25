// Run by kernels-webgpu.test.ts in a child process (Dawn reads its Vulkan environment at start):
// the engine's kernels with their backward (column sums, norms, width and depth connections, the
// embedding with its stream expansion, the hc, mHC-lite and mHC coefficients, the readout's sum
// over streams, attention, cross-entropy) against the model's tfjs ops and tf.grads on the cpu backend.
// Prints one JSON object; {"skip": reason} without an adapter.
import { type AdamwSpec, adamwHyper, adamwPartials, recordAdamw } from '../../../src/engine/program/adamw.ts';
import { type AttentionSpec, recordAttentionBackward, recordAttentionForward } from '../../../src/engine/program/attention.ts';
import { type ColumnSumSpec, columnSumChunks, recordColumnSum } from '../../../src/engine/program/column-sum.ts';
import { recordCrossEntropy } from '../../../src/engine/program/cross-entropy.ts';
import { type DepthSpec, recordDepthBackward, recordDepthForward } from '../../../src/engine/program/depth-connection.ts';
import { type EmbeddingSpec, embeddingIndex, recordEmbeddingBackward, recordEmbeddingForward } from '../../../src/engine/program/embedding.ts';
import { GpuArena } from '../../../src/engine/program/gpu-arena.ts';
import type { CoefficientSmall } from '../../../src/engine/program/coefficient-small.ts';
import { type MhcCoefficientSpec, recordMhcCoefficientsBackward, recordMhcCoefficientsForward } from '../../../src/engine/program/mhc-coefficients.ts';
import { type MhcLiteCoefficientSpec, recordMhcLiteCoefficientsBackward, recordMhcLiteCoefficientsForward } from '../../../src/engine/program/mhc-lite-coefficients.ts';
import { type HcCoefficientSpec, recordHcCoefficientsBackward, recordHcCoefficientsForward } from '../../../src/engine/program/hc-coefficients.ts';
import { type NormSpec, recordNormBackward, recordNormForward } from '../../../src/engine/program/norm.ts';
import { StepProgram } from '../../../src/engine/program/step-program.ts';
import { tokenSumChunks } from '../../../src/engine/program/token-sums.ts';
import { recordStreamSumBackward, recordStreamSumForward, type StreamSumSpec } from '../../../src/engine/program/stream-sum.ts';
import { recordWidthBackward, recordWidthForward, type WidthSpec } from '../../../src/engine/program/width-connection.ts';
import { type Tensor, tf } from '../../../src/engine/tf.ts';
import { mhcLiteCoefficientsOp } from '../../../src/engine/ops/mhc-lite-coefficients.ts';
import { sinkhornComposite } from '../../../src/engine/ops/sinkhorn.ts';
import { factorial } from '../../../src/engine/permutations.ts';
import { gainLayerNorm, layerNorm, rmsNorm } from '../../../src/model/norms.ts';
import { MODEL_DEFAULTS, type ModelConfig } from '../../../src/model/config.ts';
import { reduceTerms } from '../../../src/model/connections/readout.ts';
import type { Params } from '../../../src/model/params.ts';
import { expandStreams } from '../../../src/model/stream-init.ts';
import { crossEntropy } from '../../../src/model/transformer.ts';
import { errorsByName, gather, normRel, startChild } from './child-device.ts';

const { device, rng, randn, finish } = await startChild('engine-kernels');

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
  return { rel: normRel(out, want), dispatches: program.dispatchCount };
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
  return errorsByName(['y', 'dx', 'dw', 'db'], got, want);
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
  return errorsByName(['x', 'hm', 'dh', 'dalpha'], got, want);
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
  return errorsByName(['out', 'dy', 'db'], got, want);
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

/**
 * H⁰ and the gradients of wte (added to a nonzero start, as after the tied unembedding), wpe and
 * the stream parameter against model/stream-init.ts' expandStreams over tf.gather, with tf.grads.
 */
async function embeddingCase(spec: EmbeddingSpec, chunks: number) {
  const { batch: B, seqLen: T, vocab: V, dModel: d, nStreams: n, expansion } = spec;
  // ids with repeats and with unused rows: draw from the lower two thirds of the vocabulary
  const ids = Int32Array.from({ length: B * T }, () => rng.int(Math.max(1, Math.floor((2 * V) / 3))));
  const wte = randn(V * d);
  const wpe = randn((T + 2) * d); // longer than T: only the first T rows are read and written
  const streams = randn(n * d).map((v) => (expansion === 'stream-embed' ? v : 1 + 0.3 * v));
  const up = randn(B * T * n * d);
  const dwte0 = randn(V * d);
  const { order, starts } = embeddingIndex(ids, V);
  const u32 = (x: Uint32Array) => new Float32Array(x.buffer, x.byteOffset, x.length);
  const arena = new GpuArena(device, 'embedding-case', [
    { name: 'ids', length: ids.length },
    { name: 'order', length: order.length },
    { name: 'starts', length: starts.length },
    { name: 'wte', length: wte.length },
    { name: 'wpe', length: wpe.length },
    { name: 'streams', length: streams.length },
    { name: 'out', length: up.length },
    { name: 'dout', length: up.length },
    { name: 'dh', length: B * T * d },
    { name: 'prod', length: up.length },
    { name: 'dwte', length: wte.length },
    { name: 'dwpe', length: T * d },
    { name: 'dstreams', length: streams.length },
    { name: 'partial', length: chunks * n * d },
  ]);
  arena.write('ids', u32(Uint32Array.from(ids)));
  arena.write('order', u32(order));
  arena.write('starts', u32(starts));
  for (const [name, v] of [['wte', wte], ['wpe', wpe], ['streams', streams], ['dout', up], ['dwte', dwte0]] as const) arena.write(name, v);
  const program = new StepProgram(device);
  const at = (name: string) => arena.binding(name);
  const fwd = { ids: at('ids'), wte: at('wte'), wpe: at('wpe'), streams: at('streams'), out: at('out') };
  recordEmbeddingForward(program, 'embed', spec, fwd);
  const grads = expansion === 'lss' || expansion === 'stream-embed';
  recordEmbeddingBackward(program, 'embed', spec, { ...fwd, dout: at('dout'), dh: at('dh'), prod: at('prod'), order: at('order'), starts: at('starts'), dwte: at('dwte'), dwpe: at('dwpe'), ...(grads ? { dstreams: at('dstreams') } : {}), ...(chunks > 1 ? { partial: at('partial') } : {}) }, chunks);
  program.run();
  const names = ['out', 'dwte', 'dwpe', ...(grads ? ['dstreams'] : [])];
  const got = await arena.read(names);
  arena.destroy();
  const paramName = { lss: 'expand_stream.lss', noise: 'expand_stream.noise', 'stream-embed': 'expand_stream.stream_embed', copy: '' }[expansion];
  const initFor = { copy: { kind: 'copy' }, lss: { kind: 'lss', center: 1 }, noise: { kind: 'noise', sigma: 0.3 }, 'stream-embed': { kind: 'stream-embed' } }[expansion];
  const config = { ...MODEL_DEFAULTS, vocabSize: V, blockSize: T + 2, dModel: d, nStreams: n, streamInit: initFor } as ModelConfig;
  const want = tf.tidy(() => {
    const idT = tf.tensor2d(ids, [B, T], 'int32');
    const f = (W: Tensor, P: Tensor, S: Tensor) => {
      const p = new Map([[paramName, S]]) as unknown as Params;
      return expandStreams(p, config, tf.add(tf.gather(W, idT), tf.slice(P, [0, 0], [T, -1])));
    };
    const W = tf.tensor2d(wte, [V, d]);
    const P = tf.tensor2d(wpe, [T + 2, d]);
    const S = tf.tensor2d(streams, [n, d]);
    // copy reads no stream parameter; 0·ΣS keeps tf.grads' three inputs on the path
    const loss = (w: Tensor, pp: Tensor, ss: Tensor) => tf.add(tf.sum(tf.mul(f(w, pp, ss), tf.tensor4d(up, [B, T, n, d]))), tf.mul(tf.sum(ss), 0));
    const [dW, dP, dS] = tf.grads(loss)([W, P, S]) as [Tensor, Tensor, Tensor];
    return [f(W, P, S), tf.add(dW, tf.tensor2d(dwte0, [V, d])), tf.slice(dP, [0, 0], [T, -1]), ...(grads ? [dS] : [])].map((t) => t.dataSync());
  });
  return errorsByName(names, got, want);
}
const embedding: Record<string, Record<string, number>> = {};
for (const [name, spec, chunks] of [
  ['copy, B 2, T 5, V 11, d 8, n 4', { batch: 2, seqLen: 5, vocab: 11, dModel: 8, nStreams: 4, expansion: 'copy' }, 1],
  ['lss, B 3, T 7, V 300, d 70, n 3, 4 chunks', { batch: 3, seqLen: 7, vocab: 300, dModel: 70, nStreams: 3, expansion: 'lss' }, 4],
  ['noise, B 1, T 9, V 5, d 3, n 2', { batch: 1, seqLen: 9, vocab: 5, dModel: 3, nStreams: 2, expansion: 'noise' }, 1],
  ['stream-embed, B 4, T 3, V 2, d 130, n 8', { batch: 4, seqLen: 3, vocab: 2, dModel: 130, nStreams: 8, expansion: 'stream-embed' }, 1],
  ['copy, B 1, T 1, V 1, d 1, n 1', { batch: 1, seqLen: 1, vocab: 1, dModel: 1, nStreams: 1, expansion: 'copy' }, 1],
] as const) {
  embedding[name] = await embeddingCase(spec, chunks);
}

/** hc's α and β and their gradients against the formulas of model/connections/hc.ts in tfjs ops, with tf.grads. */
async function hcCoefficientCase(spec: HcCoefficientSpec) {
  const { tokens: T, nStreams: n, dynamic } = spec;
  const proj = randn(T * n * (n + 2)).map((v) => 1.5 * v);
  const a0 = randn(n * (n + 1));
  const b0 = randn(n);
  const scales = [0.3, -0.7];
  const dA = randn(T * n * (n + 1));
  const dB = randn(T * n);
  const arena = new GpuArena(device, 'hc-coeff-case', [
    { name: 'proj', length: proj.length },
    { name: 'a0', length: a0.length },
    { name: 'b0', length: n },
    { name: 'sa', length: 1 },
    { name: 'sb', length: 1 },
    { name: 'alpha', length: dA.length },
    { name: 'beta', length: dB.length },
    { name: 'dalpha', length: dA.length },
    { name: 'dbeta', length: dB.length },
    { name: 'dproj', length: proj.length },
    { name: 'partial', length: 2 * T },
    { name: 'da0', length: a0.length },
    { name: 'db0', length: n },
    { name: 'dsa', length: 1 },
    { name: 'dsb', length: 1 },
  ]);
  const values: [string, Float32Array][] = [['proj', proj], ['a0', a0], ['b0', b0], ['sa', Float32Array.of(scales[0] as number)], ['sb', Float32Array.of(scales[1] as number)], ['dalpha', dA], ['dbeta', dB]];
  for (const [name, v] of values) arena.write(name, v);
  const at = (name: string) => arena.binding(name);
  const program = new StepProgram(device);
  const dyn = dynamic ? { proj: at('proj'), alphaScale: at('sa'), betaScale: at('sb') } : {};
  recordHcCoefficientsForward(program, 'hc', spec, { ...dyn, staticAlpha: at('a0'), staticBeta: at('b0'), alpha: at('alpha'), beta: at('beta') });
  recordHcCoefficientsBackward(program, 'hc', spec, { ...dyn, dalpha: at('dalpha'), dbeta: at('dbeta'), dStaticAlpha: at('da0'), dStaticBeta: at('db0'), ...(dynamic ? { dproj: at('dproj'), partial: at('partial'), dAlphaScale: at('dsa'), dBetaScale: at('dsb') } : {}) });
  program.run();
  const names = ['alpha', 'beta', 'da0', 'db0', ...(dynamic ? ['dproj', 'dsa', 'dsb'] : [])];
  const got = await arena.read(names);
  arena.destroy();
  const want = tf.tidy(() => {
    const f = (P: Tensor, A0: Tensor, B0: Tensor, SA: Tensor, SB: Tensor): [Tensor, Tensor] => {
      if (!dynamic) return [tf.mul(tf.reshape(A0, [1, n, n + 1]), tf.ones([T, 1, 1])), tf.mul(tf.reshape(B0, [1, n]), tf.ones([T, 1]))];
      const [pa, pb] = tf.split(tf.reshape(P, [T * n, n + 2]), [n + 1, 1], 1) as [Tensor, Tensor];
      const alpha = tf.add(tf.mul(tf.reshape(tf.tanh(pa), [T, n, n + 1]), SA), A0);
      const beta = tf.add(tf.mul(tf.reshape(tf.tanh(pb), [T, n]), SB), B0);
      return [alpha, beta];
    };
    const args = [tf.tensor1d(proj), tf.tensor2d(a0, [n, n + 1]), tf.tensor1d(b0), tf.scalar(scales[0] as number), tf.scalar(scales[1] as number)];
    const loss = (P: Tensor, A0: Tensor, B0: Tensor, SA: Tensor, SB: Tensor) => {
      const [alpha, beta] = f(P, A0, B0, SA, SB);
      // static HC reads neither the projection nor the scales: 0·Σ keeps them on tf.grads' path
      const idle = dynamic ? tf.scalar(0) : tf.mul(tf.add(tf.add(tf.sum(P), SA), SB), 0);
      return tf.add(tf.add(tf.sum(tf.mul(alpha, tf.tensor3d(dA, [T, n, n + 1]))), tf.sum(tf.mul(beta, tf.tensor2d(dB, [T, n])))), idle);
    };
    const [dP, dA0, dB0, dSA, dSB] = tf.grads(loss)(args) as Tensor[];
    const [alpha, beta] = f(...(args as [Tensor, Tensor, Tensor, Tensor, Tensor]));
    return [alpha, beta, dA0, dB0, ...(dynamic ? [dP, dSA, dSB] : [])].map((t) => (t as Tensor).dataSync());
  });
  return errorsByName(names, got, want);
}
const hcCoefficients: Record<string, Record<string, number>> = {};
for (const [name, spec] of [
  ['dynamic, 7 tokens, n 4', { tokens: 7, nStreams: 4, dynamic: true }],
  ['dynamic, 300 tokens, n 8', { tokens: 300, nStreams: 8, dynamic: true }],
  ['dynamic, 1 token, n 1', { tokens: 1, nStreams: 1, dynamic: true }],
  ['static, 65 tokens, n 3', { tokens: 65, nStreams: 3, dynamic: false }],
] as const) {
  hcCoefficients[name] = await hcCoefficientCase(spec);
}

/**
 * A coefficient kernel of mHC or mHC-lite (`record` records its forward and backward) on random
 * wc [T, alphaWidth'], wb [T, n], five small parameters and upstream gradients, against
 * `reference(wc, wb, pre, res, h_post, α₀, β₀)` in tfjs ops with tf.grads: norm-relative errors
 * of alpha, write, dproj (= [dwc | dwb]) and the five gradients.
 */
async function coefficientCase(
  tokens: number,
  n: number,
  chunks: number,
  widths: { wc: number; staticAlpha: number[] },
  record: (program: StepProgram, ops: { proj: GPUBufferBinding; small: CoefficientSmall; alpha: GPUBufferBinding; beta: GPUBufferBinding; dalpha: GPUBufferBinding; dbeta: GPUBufferBinding; dproj: GPUBufferBinding; contrib: GPUBufferBinding; partial: GPUBufferBinding; dSmall: CoefficientSmall }) => void,
  reference: (wc: Tensor, wb: Tensor, ...small: Tensor[]) => { alpha: Tensor; write: Tensor },
) {
  const T = tokens;
  const W = widths.wc;
  const alphaWidth = widths.staticAlpha.reduce((a, b) => a * b, 1);
  const wc = randn(T * W).map((v) => 1.5 * v);
  const wb = randn(T * n);
  const proj = new Float32Array(T * (W + n));
  for (let t = 0; t < T; t++) {
    proj.set(wc.subarray(t * W, (t + 1) * W), t * (W + n));
    proj.set(wb.subarray(t * n, (t + 1) * n), t * (W + n) + W);
  }
  const small = { preBranchScale: randn(1), residualScale: randn(1), hPostScale: randn(1), staticAlpha: randn(alphaWidth), staticBeta: randn(n) };
  const shapes = { preBranchScale: [1], residualScale: [1], hPostScale: [], staticAlpha: widths.staticAlpha, staticBeta: [n] };
  const dA = randn(T * n * (n + 1));
  const dB = randn(T * n);
  const K = 3 + alphaWidth + n;
  const names = Object.keys(small) as (keyof typeof small)[];
  const arena = new GpuArena(device, 'coefficient-case', [
    { name: 'proj', length: proj.length },
    { name: 'alpha', length: dA.length },
    { name: 'beta', length: dB.length },
    { name: 'dalpha', length: dA.length },
    { name: 'dbeta', length: dB.length },
    { name: 'dproj', length: proj.length },
    { name: 'contrib', length: T * K },
    { name: 'partial', length: chunks * K },
    ...names.flatMap((k) => [{ name: k, length: small[k].length }, { name: `d${k}`, length: small[k].length }]),
  ]);
  for (const [name, v] of [['proj', proj], ['dalpha', dA], ['dbeta', dB], ...names.map((k) => [k, small[k]] as const)] as const) arena.write(name, v);
  const at = (name: string) => arena.binding(name);
  const program = new StepProgram(device);
  record(program, {
    ...Object.fromEntries(['proj', 'alpha', 'beta', 'dalpha', 'dbeta', 'dproj', 'contrib', 'partial'].map((k) => [k, at(k)])),
    small: Object.fromEntries(names.map((k) => [k, at(k)])),
    dSmall: Object.fromEntries(names.map((k) => [k, at(`d${k}`)])),
  } as unknown as Parameters<typeof record>[1]);
  program.run();
  const outs = ['alpha', 'beta', 'dproj', ...names.map((k) => `d${k}`)];
  const got = await arena.read(outs);
  arena.destroy();
  const want = tf.tidy(() => {
    const args = [tf.tensor2d(wc, [T, W]), tf.tensor2d(wb, [T, n]), ...names.map((k) => tf.tensor(small[k], shapes[k]))];
    const loss = (...x: Tensor[]) => {
      const { alpha, write } = reference(...(x as [Tensor, Tensor, ...Tensor[]]));
      return tf.add(tf.sum(tf.mul(alpha, tf.tensor3d(dA, [T, n, n + 1]))), tf.sum(tf.mul(write, tf.tensor2d(dB, [T, n]))));
    };
    const grads = tf.grads(loss)(args) as Tensor[];
    const { alpha, write } = reference(...(args as [Tensor, Tensor, ...Tensor[]]));
    return [alpha, write, tf.concat([grads[0] as Tensor, grads[1] as Tensor], 1), ...grads.slice(2)].map((t) => (t as Tensor).dataSync());
  });
  return errorsByName(outs, got, want);
}

/** mHC-lite's kernel against engine/ops/mhc-lite-coefficients.ts' composite. */
async function mhcLiteCase(spec: MhcLiteCoefficientSpec) {
  const { tokens: T, nStreams: n } = spec;
  const P = factorial(n);
  return coefficientCase(T, n, spec.chunks ?? tokenSumChunks(T), { wc: n + P, staticAlpha: [n + P] }, (program, ops) => {
    recordMhcLiteCoefficientsForward(program, 'mhc-lite', spec, ops);
    recordMhcLiteCoefficientsBackward(program, 'mhc-lite', spec, ops);
  }, (wc, wb, pre, res, hps, sa, sb) => mhcLiteCoefficientsOp(n, wc, wb, { preBranchScale: pre as Tensor, residualScale: res as Tensor, hPostScale: hps as Tensor, staticAlpha: sa as Tensor, staticBeta: sb as Tensor }));
}
const mhcLite: Record<string, Record<string, number>> = {};
for (const [name, spec] of [
  ['5 tokens, n 3', { tokens: 5, nStreams: 3 }],
  ['200 tokens, n 4, 3 chunks', { tokens: 200, nStreams: 4, chunks: 3 }],
  ['1 token, n 1', { tokens: 1, nStreams: 1 }],
  ['9 tokens, n 5', { tokens: 9, nStreams: 5 }],
] as const) {
  mhcLite[name] = await mhcLiteCase(spec);
}

/** mHC's kernel against model/connections/mhc.ts' formulas after its projection, with the model's Sinkhorn composite. */
async function mhcCase(spec: MhcCoefficientSpec) {
  const { tokens: T, nStreams: n, sinkhornIters: iters } = spec;
  return coefficientCase(T, n, spec.chunks ?? tokenSumChunks(T), { wc: n * (n + 1), staticAlpha: [n, n + 1] }, (program, ops) => {
    recordMhcCoefficientsForward(program, 'mhc', spec, ops);
    recordMhcCoefficientsBackward(program, 'mhc', spec, ops);
  }, (wc, wb, pre, res, hps, sa, sb) => {
    const scale = tf.concat([pre as Tensor, tf.tile(res as Tensor, [n])]);
    const logits = tf.add(tf.mul(tf.reshape(wc, [T, n, n + 1]), scale), sa as Tensor);
    const read = tf.sigmoid(tf.slice(logits, [0, 0, 0], [-1, -1, 1]));
    const mixing = sinkhornComposite(tf.slice(logits, [0, 0, 1], [-1, -1, n]), iters);
    const write = tf.mul(tf.sigmoid(tf.add(tf.mul(wb, hps as Tensor), sb as Tensor)), 2);
    return { alpha: tf.concat([read, mixing], 2), write };
  });
}
const mhc: Record<string, Record<string, number>> = {};
for (const [name, spec] of [
  ['6 tokens, n 4, 20 iterations', { tokens: 6, nStreams: 4, sinkhornIters: 20 }],
  ['130 tokens, n 3, 5 iterations, 2 chunks', { tokens: 130, nStreams: 3, sinkhornIters: 5, chunks: 2 }],
  ['3 tokens, n 8, 3 iterations', { tokens: 3, nStreams: 8, sinkhornIters: 3 }],
  ['2 tokens, n 1, 1 iteration', { tokens: 2, nStreams: 1, sinkhornIters: 1 }],
] as const) {
  mhc[name] = await mhcCase(spec);
}

/** The readout's sum over streams and its backward against readout.ts' reduceTerms and tf.grads. */
async function streamSumCase(spec: StreamSumSpec) {
  const { tokens: T, nStreams: n, dModel: d } = spec;
  const y = randn(T * n * d);
  const up = randn(T * d);
  const dy0 = randn(T * n * d);
  const arena = new GpuArena(device, 'stream-sum-case', [
    { name: 'y', length: y.length },
    { name: 'xf', length: T * d },
    { name: 'dxf', length: T * d },
    { name: 'dy', length: y.length },
  ]);
  for (const [name, v] of [['y', y], ['dxf', up], ['dy', dy0]] as const) arena.write(name, v);
  const at = (name: string) => arena.binding(name);
  const program = new StepProgram(device);
  recordStreamSumForward(program, 'sum', spec, { y: at('y'), xf: at('xf') });
  recordStreamSumBackward(program, 'sum', spec, { dxf: at('dxf'), dy: at('dy') });
  program.run();
  const got = await arena.read(['xf', 'dy']);
  arena.destroy();
  const config = { ...MODEL_DEFAULTS, dModel: d, nStreams: n, connection: { kind: 'hc', dynamic: false, dynamicNorm: 'rms' } } as ModelConfig;
  const want = tf.tidy(() => {
    const Y = tf.tensor4d(y, [1, T, n, d]);
    const [g] = tf.grads((x: Tensor) => tf.sum(tf.mul(reduceTerms(config, x), tf.tensor2d(up, [T, d]))))([Y]) as [Tensor];
    return [reduceTerms(config, Y), spec.accumulate ? tf.add(g, tf.tensor4d(dy0, [1, T, n, d])) : g].map((t) => t.dataSync());
  });
  return errorsByName(['xf', 'dy'], got, want);
}
const streamSum: Record<string, Record<string, number>> = {};
for (const [name, spec] of [
  ['5 tokens, n 4, d 48', { tokens: 5, nStreams: 4, dModel: 48 }],
  ['70 tokens, n 3, d 65, accumulate', { tokens: 70, nStreams: 3, dModel: 65, accumulate: true }],
  ['1 token, n 1, d 1', { tokens: 1, nStreams: 1, dModel: 1 }],
] as const) {
  streamSum[name] = await streamSumCase(spec);
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
  return errorsByName(['o', 'dqkv'], got, want);
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
  const mean = losses.reduce((a, b) => a + b, 0) / rows;
  return { losses: normRel(losses, wantLosses), mean: Math.abs(mean - wantMean) / Math.abs(wantMean), grad: normRel(dz, wantGrad) };
}
const crossEntropyCases = {
  '5 rows, V 7': await crossEntropyCase(5, 7),
  '37 rows, V 1000': await crossEntropyCase(37, 1000),
  '3 rows, V 2': await crossEntropyCase(3, 2),
  '2 rows, V 50304': await crossEntropyCase(2, 50304),
};

/**
 * Three clipped AdamW updates over four arenas against a float64 AdamW in optimizer.ts' order:
 * the parameters' max |Δ| / (|p| + 0.01) and the norms' relative error.
 */
async function adamwCase(maxNorm: number, maxBindingBytes?: number) {
  const decaySizes = [300, 4099 * 3, 49];
  const plainSizes = [1, 7, 256, 257];
  const specs = [...decaySizes, ...plainSizes].map((length, i) => ({ name: `p${i}`, length }));
  const arenas = ['params', 'grads', 'm', 'v'].map((name) => new GpuArena(device, name, specs));
  const [params, grads, mArena, vArena] = arenas as [GpuArena, GpuArena, GpuArena, GpuArena];
  const length = params.layout.bytes / 4;
  const opt = new GpuArena(device, 'opt', [
    { name: 'hyper', length: 8 },
    { name: 'partial', length: adamwPartials(device, length, maxBindingBytes) },
    { name: 'stats', length: 2 },
  ]);
  const spec: AdamwSpec = { length, decayEnd: params.slice(`p${decaySizes.length}`).offset / 4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxNorm, ...(maxBindingBytes ? { maxBindingBytes } : {}) };
  const program = new StepProgram(device);
  recordAdamw(program, 'adamw', spec, { params: params.binding('whole'), grads: grads.binding('whole'), m: mArena.binding('whole'), v: vArena.binding('whole'), partial: opt.binding('partial'), stats: opt.binding('stats'), hyper: opt.binding('hyper') });
  const p64 = specs.map((sp) => Float64Array.from(randn(sp.length)));
  const m64 = specs.map((sp) => new Float64Array(sp.length));
  const v64 = specs.map((sp) => new Float64Array(sp.length));
  specs.forEach((sp, i) => params.write(sp.name, Float32Array.from(p64[i] as Float64Array)));
  const lr = 0.01;
  const norms: number[] = [];
  const want: number[] = [];
  for (let t = 1; t <= 3; t++) {
    const g = specs.map((sp) => Float64Array.from(randn(sp.length), (x) => x * 0.05));
    specs.forEach((sp, i) => grads.write(sp.name, Float32Array.from(g[i] as Float64Array)));
    opt.write('hyper', adamwHyper(spec, t, lr));
    program.run();
    norms.push(((await opt.read(['stats']))[0] as Float32Array)[0] as number);
    const norm = Math.sqrt(g.reduce((a, x) => a + x.reduce((b, y) => b + y * y, 0), 0));
    want.push(norm);
    const coef = maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
    const bc1 = 1 - 0.9 ** t;
    const bc2 = 1 - 0.95 ** t;
    p64.forEach((pi, i) => {
      const mi = m64[i] as Float64Array;
      const vi = v64[i] as Float64Array;
      const gi = g[i] as Float64Array;
      for (let j = 0; j < pi.length; j++) {
        const gj = (gi[j] as number) * coef;
        const pd = i < decaySizes.length ? (pi[j] as number) * (1 - lr * 0.1) : (pi[j] as number);
        mi[j] = 0.9 * (mi[j] as number) + 0.1 * gj;
        vi[j] = 0.95 * (vi[j] as number) + 0.05 * gj * gj;
        pi[j] = pd - (lr / bc1) * ((mi[j] as number) / (Math.sqrt(vi[j] as number) / Math.sqrt(bc2) + 1e-8));
      }
    });
  }
  const got = await params.read(specs.map((sp) => sp.name));
  let paramErr = 0;
  got.forEach((x, i) => {
    x.forEach((v, j) => {
      const w = (p64[i] as Float64Array)[j] as number;
      paramErr = Math.max(paramErr, Math.abs(v - w) / (Math.abs(w) + 1e-2));
    });
  });
  for (const a of [...arenas, opt]) a.destroy();
  return { paramErr, normErr: Math.max(...norms.map((n, i) => Math.abs(n - (want[i] as number)) / (want[i] as number))), dispatches: program.dispatchCount, clipped: want.some((n) => maxNorm > 0 && n > maxNorm) };
}
// split: bindings of at most 4 KiB, so the arenas (~13,500 floats) take 14 ranges, one of them
// across the decay boundary, as an arena larger than maxStorageBufferBindingSize would
const adamw = { clipped: await adamwCase(0.5), unclipped: await adamwCase(0), 'clipped, split into ranges': await adamwCase(0.5, 4096) };

await finish({ columnSums, norms, width, depth, embedding, hcCoefficients, mhcLite, mhc, streamSum, attention, crossEntropy: crossEntropyCases, adamw });
