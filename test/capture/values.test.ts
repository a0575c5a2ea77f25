// Written Arrow read back = in memory (issue 4, §8): every site of a capture equals the hooked
// activations of the same forward passes, bit for bit in float32 and within one float16
// rounding in float16; the last resid_post, through ln_f per stream and the tied unembedding,
// gives the model's logits; and the stored coefficients recombine the streams as the model does.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as A from 'apache-arrow';
import { concatArrays, floatColumn, intColumn, readManifest } from '../../src/capture/read.ts';
import type { CaptureSite, Manifest } from '../../src/capture/schema.ts';
import { sequentialWindows, type Window } from '../../src/data/batches.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { type Tensor, tf } from '../../src/engine/tf.ts';
import { configFromCheckpoint, paramsFromCheckpoint } from '../../src/model/checkpoint.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { type HookFn, hookName, type Sublayer } from '../../src/model/hooks.ts';
import { disposeParams, type Params } from '../../src/model/params.ts';
import { readSafetensorsFile } from '../../src/io/safetensors.ts';
import { forward } from '../../src/model/transformer.ts';
import { corpusFor } from '../../src/train/session.ts';
import type { TrainConfig } from '../../src/train/train-config.ts';
import { allBatches, cliOk, tempDir, trainSmall } from './helpers.ts';

const ALL_SITES = 'resid_pre,resid_post,branch_in,branch_out,coeffs';
/** 10 windows of 32 and 10 tokens that do not fill an eleventh; batches of 4, 4, 2. */
const TOKENS = 330;
const BATCH = 4;
const MODULES: Sublayer[] = ['attn', 'mlp'];

/** The hooked activations of every site, concatenated over the batches: name → flat values. */
type Hooked = Map<string, Float32Array>;

interface Reference {
  config: ModelConfig;
  windows: Window[];
  hooked: Hooked;
  logits: Float32Array;
  lnF: { weight: Float32Array; bias: Float32Array };
  wte: Float32Array;
}

/** Runs the checkpoint's model over the capture's windows, in its batches, with every hook. */
async function reference(run: string, m: Manifest): Promise<Reference> {
  await initBackend('wasm');
  const file = readSafetensorsFile(m.checkpoint);
  const config = configFromCheckpoint(file, m.checkpoint);
  const params: Params = paramsFromCheckpoint(file, config, m.checkpoint);
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')) as TrainConfig;
    const corpus = corpusFor(cfg, config.vocabSize);
    const windows = [...sequentialWindows(corpus.val, config.blockSize, TOKENS)];
    const names: string[] = [];
    for (let l = 0; l < config.nLayers; l++) {
      for (const kind of ['resid_pre', 'resid_mid', 'resid_post'] as const) names.push(hookName({ kind, layer: l }));
      for (const module of MODULES) {
        for (const kind of ['branch_in', 'branch_out'] as const) names.push(hookName({ kind, layer: l, module }));
        if (config.connection.kind !== 'residual') for (const kind of ['read', 'mixing', 'write'] as const) names.push(hookName({ kind, layer: l, module }));
      }
    }
    const parts = new Map<string, Float32Array[]>(names.map((n) => [n, []]));
    const logitParts: Float32Array[] = [];
    const hooks = new Map<string, HookFn>(names.map((n) => [n, (x: Tensor) => void parts.get(n)?.push(x.dataSync().slice() as Float32Array)]));
    const T = config.blockSize;
    for (let b0 = 0; b0 < windows.length; b0 += BATCH) {
      const batch = windows.slice(b0, b0 + BATCH);
      const ids = new Int32Array(batch.length * T);
      batch.forEach((w, i) => ids.set(w.tokens, i * T));
      const logits = tf.tidy(() => forward(params, config, tf.tensor2d(ids, [batch.length, T], 'int32'), { hooks }));
      logitParts.push(logits.dataSync().slice() as Float32Array);
      logits.dispose();
    }
    const hooked: Hooked = new Map([...parts].map(([n, p]) => [n, concatArrays(p, (k) => new Float32Array(k))]));
    const get = (name: string) => (params.get(name) as Tensor).dataSync().slice() as Float32Array;
    return {
      config, windows, hooked, logits: concatArrays(logitParts, (k) => new Float32Array(k)),
      lnF: { weight: get('transformer.ln_f.weight'), bias: params.has('transformer.ln_f.bias') ? get('transformer.ln_f.bias') : new Float32Array(config.dModel) }, wte: get('transformer.wte.weight'),
    };
  } finally {
    disposeParams(params);
  }
}

/** One stream's slice [rows, d] of a hooked [rows, n, d] activation, optionally scaled per row. */
function streamOf(H: Float32Array, n: number, d: number, i: number, scale?: Float32Array): Float32Array {
  const rows = H.length / (n * d);
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    const s = scale ? (scale[r * n + i] as number) : 1;
    for (let j = 0; j < d; j++) out[r * d + j] = s * (H[(r * n + i) * d + j] as number);
  }
  return out;
}

/** Column `name` of a capture stream, concatenated over its shards and batches. */
async function column(dir: string, m: Manifest, site: CaptureSite, layer: number, module: Sublayer, name: string): Promise<Float32Array> {
  const batches = await allBatches(dir, m, { site, layer, module });
  return concatArrays(batches.map((b) => floatColumn(b, name)), (k) => new Float32Array(k));
}

function assertBitEqual(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}: element ${i} is ${actual[i]}, hooked ${expected[i]}`);
  }
}

/** The expected stream columns of a site, from the hooks (SITE_SEMANTICS). */
function expectedStreams(ref: Reference, site: Exclude<CaptureSite, 'coeffs'>, layer: number, module: Sublayer): Float32Array[] {
  const { nStreams: n, dModel: d, connection } = ref.config;
  const h = (name: string) => ref.hooked.get(name) as Float32Array;
  const pre = h(hookName(module === 'attn' ? { kind: 'resid_pre', layer } : { kind: 'resid_mid', layer }));
  const post = h(hookName(module === 'attn' ? { kind: 'resid_mid', layer } : { kind: 'resid_post', layer }));
  const coeff = (kind: 'read' | 'write') => (connection.kind === 'residual' ? undefined : h(hookName({ kind, layer, module })));
  return Array.from({ length: n }, (_, i) => {
    if (site === 'resid_pre') return streamOf(pre, n, d, i);
    if (site === 'resid_post') return streamOf(post, n, d, i);
    if (site === 'branch_in') return streamOf(pre, n, d, i, coeff('read'));
    // T(x) broadcast to every stream, scaled by B[i].
    return streamOf(h(hookName({ kind: 'branch_out', layer, module })), 1, d, 0, (() => {
      const w = coeff('write');
      if (!w) return undefined;
      return Float32Array.from({ length: w.length / n }, (_, r) => w[r * n + i] as number);
    })());
  });
}

test('capture: every site read back equals the hooked activations (float32 bit for bit, float16 within rounding)', async (t) => {
  const dir = tempDir(t);
  const run = await trainSmall(path.join(dir, 'run'));
  const acts = path.join(dir, 'acts');
  const acts16 = path.join(dir, 'acts16');
  const common = ['capture', '--run', run, '--tokens', String(TOKENS), '--sites', ALL_SITES, '--batch', String(BATCH), '--backend', 'wasm'];
  cliOk([...common, '--out', acts]);
  cliOk([...common, '--out', acts16, '--dtype', 'float16']);
  const m = readManifest(acts);
  const m16 = readManifest(acts16);
  const ref = await reference(run, m);
  const { nStreams: n, dModel: d, nLayers: L, blockSize: T } = ref.config;
  const rows = ref.windows.length * T;
  assert.equal(n, 4);
  assert.equal(ref.windows.length, 10);
  assert.equal(m.tokens, rows);
  assert.equal(m.sequences, 10);
  assert.deepEqual(m.layers, [0, 1]);

  await t.test('seq, pos, token and label columns are the windows of the split', async () => {
    for (const site of ['resid_pre', 'coeffs'] as const) {
      const batches = await allBatches(acts, m, { site, layer: 1, module: 'mlp' });
      const col = (name: string) => concatArrays(batches.map((b) => intColumn(b, name)), (k) => new Int32Array(k));
      assert.deepEqual(col('seq'), Int32Array.from({ length: rows }, (_, r) => Math.floor(r / T)));
      assert.deepEqual(col('pos'), Int32Array.from({ length: rows }, (_, r) => r % T));
      assert.deepEqual(col('token'), concatArrays(ref.windows.map((w) => w.tokens), (k) => new Int32Array(k)));
      assert.ok(m.labels.length > 0, 'the synthetic corpus has labels');
      for (const { name } of m.labels) {
        const expected = concatArrays(ref.windows.map((w) => w.labels.get(name) as Int32Array), (k) => new Int32Array(k));
        assert.deepEqual(col(`label_${name}`), expected, name);
      }
      // Not-applicable labels are nulls, not −1 values.
      const topic = batches[0]?.getChild('label_topic');
      assert.ok(topic && topic.nullCount > 0, 'label_topic has nulls');
    }
  });

  await t.test('float32: resid_pre, resid_post, branch_in, branch_out and coeffs equal the hooks exactly', async () => {
    for (let layer = 0; layer < L; layer++) {
      for (const module of MODULES) {
        for (const site of ['resid_pre', 'resid_post', 'branch_in', 'branch_out'] as const) {
          const expected = expectedStreams(ref, site, layer, module);
          for (let i = 0; i < n; i++) {
            assertBitEqual(await column(acts, m, site, layer, module, `stream_${i}`), expected[i] as Float32Array, `${site} ${layer} ${module} stream_${i}`);
          }
        }
        for (const kind of ['read', 'mixing', 'write'] as const) {
          assertBitEqual(await column(acts, m, 'coeffs', layer, module, kind), ref.hooked.get(hookName({ kind, layer, module })) as Float32Array, `coeffs ${layer} ${module} ${kind}`);
        }
      }
    }
  });

  await t.test('branch_in streams sum to the branch input; resid_post = Σ_s mixing[s][t]·resid_pre_s + branch_out_t', async () => {
    for (let layer = 0; layer < L; layer++) {
      for (const module of MODULES) {
        const streams = (site: CaptureSite) => Promise.all(Array.from({ length: n }, (_, i) => column(acts, m, site, layer, module, `stream_${i}`)));
        const bin = await streams('branch_in');
        const x = ref.hooked.get(hookName({ kind: 'branch_in', layer, module })) as Float32Array;
        let worst = 0;
        for (let k = 0; k < x.length; k++) worst = Math.max(worst, Math.abs(bin.reduce((a, s) => a + (s[k] as number), 0) - (x[k] as number)));
        assert.ok(worst <= 1e-5, `${layer} ${module}: Σ branch_in differs from hook_${module}_in by ${worst}`);
        const [pre, post, bout] = [await streams('resid_pre'), await streams('resid_post'), await streams('branch_out')];
        const mixing = await column(acts, m, 'coeffs', layer, module, 'mixing');
        let worstMix = 0;
        for (let r = 0; r < rows; r++) {
          for (let tt = 0; tt < n; tt++) {
            for (let j = 0; j < d; j++) {
              let v = (bout[tt] as Float32Array)[r * d + j] as number;
              for (let s = 0; s < n; s++) v += (mixing[r * n * n + s * n + tt] as number) * ((pre[s] as Float32Array)[r * d + j] as number);
              worstMix = Math.max(worstMix, Math.abs(v - ((post[tt] as Float32Array)[r * d + j] as number)));
            }
          }
        }
        assert.ok(worstMix <= 1e-5, `${layer} ${module}: recombined streams differ from resid_post by ${worstMix}`);
      }
    }
  });

  await t.test('ln_f per stream of the last resid_post, summed over streams, times wteᵀ gives the logits', async () => {
    const post = await Promise.all(Array.from({ length: n }, (_, i) => column(acts, m, 'resid_post', L - 1, 'mlp', `stream_${i}`)));
    const V = ref.config.vocabSize;
    let worst = 0;
    const sum = new Float64Array(d);
    for (let r = 0; r < rows; r++) {
      sum.fill(0);
      for (const s of post) {
        const x = s.subarray(r * d, (r + 1) * d);
        const mean = x.reduce((a, v) => a + v, 0) / d;
        const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / d;
        for (let j = 0; j < d; j++) sum[j] = (sum[j] as number) + (((x[j] as number) - mean) / Math.sqrt(variance + 1e-5)) * (ref.lnF.weight[j] as number) + (ref.lnF.bias[j] as number);
      }
      for (let v = 0; v < V; v++) {
        let logit = 0;
        for (let j = 0; j < d; j++) logit += (sum[j] as number) * (ref.wte[v * d + j] as number);
        worst = Math.max(worst, Math.abs(logit - (ref.logits[r * V + v] as number)));
      }
    }
    assert.ok(worst <= 1e-4, `logits differ by ${worst}`);
  });

  await t.test('float16: stream columns are half precision within one rounding of the float32 values; coeffs stay float32', async () => {
    assert.equal(m16.dtype, 'float16');
    // Round to nearest in half precision (11 significant bits) errs by at most 2^-11·|x| for
    // normal values and by half the subnormal spacing, 2^-25, below 2^-14; decoding is exact.
    const bound = (x: number) => 2 ** -11 * Math.abs(x) + 2 ** -25;
    let rounded = 0;
    for (let layer = 0; layer < L; layer++) {
      for (const module of MODULES) {
        for (const site of ['resid_pre', 'resid_post', 'branch_in', 'branch_out'] as const) {
          const [first] = await allBatches(acts16, m16, { site, layer, module });
          const type = first?.schema.fields.find((f) => f.name === 'stream_0')?.type as A.FixedSizeList | undefined;
          assert.ok(type, `${site}: a stream_0 column`);
          const item = type.children[0]?.type as A.Float | undefined;
          assert.equal(item?.typeId, A.Type.Float, site);
          assert.equal(item?.precision, A.Precision.HALF, `${site} is float16`);
          const expected = expectedStreams(ref, site, layer, module);
          for (let i = 0; i < n; i++) {
            const got = await column(acts16, m16, site, layer, module, `stream_${i}`);
            const want = expected[i] as Float32Array;
            assert.equal(got.length, want.length);
            for (let k = 0; k < got.length; k++) {
              const x = want[k] as number;
              assert.ok(Math.abs(x) < 65504, 'no value overflows half precision');
              const delta = Math.abs((got[k] as number) - x);
              if (delta > bound(x)) assert.fail(`${site} ${layer} ${module} stream_${i}[${k}]: ${got[k]} vs ${x}`);
              if (delta > 0) rounded++;
            }
          }
        }
        for (const kind of ['read', 'mixing', 'write'] as const) {
          assertBitEqual(await column(acts16, m16, 'coeffs', layer, module, kind), ref.hooked.get(hookName({ kind, layer, module })) as Float32Array, `float16 capture: coeffs ${kind}`);
        }
      }
    }
    assert.ok(rounded > 0, 'some values were rounded');
  });
});

test('capture of a plain residual model (n = 1): coefficients are 1 and branch sites are the branch input and output', async (t) => {
  const dir = tempDir(t);
  const run = await trainSmall(path.join(dir, 'run'), { connection: 'residual', layers: 1, steps: 10 });
  const acts = path.join(dir, 'acts');
  cliOk(['capture', '--run', run, '--out', acts, '--tokens', String(TOKENS), '--sites', ALL_SITES, '--batch', String(BATCH), '--backend', 'wasm']);
  const m = readManifest(acts);
  const ref = await reference(run, m);
  assert.equal(m.n_streams, 1);
  for (const module of MODULES) {
    for (const kind of ['read', 'mixing', 'write'] as const) {
      const values = await column(acts, m, 'coeffs', 0, module, kind);
      assert.equal(values.length, ref.windows.length * ref.config.blockSize);
      assert.ok(values.every((v) => v === 1), `${module} ${kind} is 1`);
    }
    assertBitEqual(await column(acts, m, 'branch_in', 0, module, 'stream_0'), ref.hooked.get(hookName({ kind: 'branch_in', layer: 0, module })) as Float32Array, `${module} branch_in`);
    assertBitEqual(await column(acts, m, 'branch_out', 0, module, 'stream_0'), ref.hooked.get(hookName({ kind: 'branch_out', layer: 0, module })) as Float32Array, `${module} branch_out`);
    const post = hookName(module === 'attn' ? { kind: 'resid_mid', layer: 0 } : { kind: 'resid_post', layer: 0 });
    assertBitEqual(await column(acts, m, 'resid_post', 0, module, 'stream_0'), ref.hooked.get(post) as Float32Array, `${module} resid_post`);
  }
});
