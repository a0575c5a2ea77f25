// Run by webgpu-fused.test.ts in a child process: (1) the fused mHC-lite coefficients against
// the tfjs ops on the same backend, values and gradients, with every parameter moved off its
// initial value; (2) parity with the reference PyTorch logits for every fixture, with the fused
// programs (norms, mHC-lite) on and off; (3) tf.memory().numTensors over repeated forwards and
// backwards, fused and not. Prints one JSON object.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../../src/engine/backend.ts';
import { constantMemory } from '../../src/engine/constants.ts';
import { rngFor } from '../../src/engine/random.ts';
import { type Scalar, tf, type Tensor, type Variable } from '../../src/engine/tf.ts';
import { configFromCheckpoint, paramsFromCheckpoint } from '../../src/model/checkpoint.ts';
import { MODEL_DEFAULTS, validateModelConfig } from '../../src/model/config.ts';
import { mhcLiteCoefficients } from '../../src/model/connections/mhc-lite.ts';
import { disposeParams, initParams } from '../../src/model/params.ts';
import { readSafetensorsFile } from '../../src/io/safetensors.ts';
import { crossEntropy, forward } from '../../src/model/transformer.ts';

const backend = await initBackend('webgpu').catch((e: Error) => e);
if (backend instanceof Error) {
  process.stdout.write(`${JSON.stringify({ skip: backend.message })}\n`);
  process.exit(0);
}
const setFused = (on: boolean) => {
  process.env.HCPROBE_FUSED = on ? '1' : '0';
};
const rng = rngFor(5, 'webgpu-fused');

function relErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
    s = Math.max(s, Math.abs(b[i] as number));
  }
  return m / Math.max(s, 1e-30);
}

function coefficients(n: number) {
  const c = validateModelConfig({ ...MODEL_DEFAULTS, vocabSize: 16, blockSize: 8, nLayers: 1, nHeads: 2, dModel: 16, nStreams: n, connection: { kind: 'mhc-lite' } });
  const params = initParams(c, 2);
  const prefix = 'transformer.h.0.hc_attn';
  const names = [...params.keys()].filter((k) => k.startsWith(`${prefix}.`));
  for (const k of names) {
    const v = params.get(k) as Variable;
    const t = tf.tensor(Float32Array.from({ length: v.size }, () => rng.normal() * (k.endsWith('_fn') ? 0.2 : 0.7)), v.shape);
    v.assign(t);
    t.dispose();
  }
  const H = tf.tensor(Float32Array.from({ length: 3 * 8 * n * 16 }, () => rng.normal()), [3, 8, n, 16]);
  const upA = tf.tensor(Float32Array.from({ length: 3 * 8 * n * (n + 1) }, () => rng.normal()), [3, 8, n, n + 1]);
  const upW = tf.tensor(Float32Array.from({ length: 3 * 8 * n }, () => rng.normal()), [3, 8, n]);
  const vars = names.map((k) => params.get(k) as Variable);
  const run = (fused: boolean) => {
    setFused(fused);
    const [alpha, write] = tf.tidy(() => {
      const r = mhcLiteCoefficients(params, c, prefix, H);
      return [r.alpha, r.write];
    });
    const g = tf.grads((h: Tensor, ...ps: Tensor[]) => {
      void ps;
      const r = mhcLiteCoefficients(params, c, prefix, h);
      return tf.add(tf.sum(tf.mul(r.alpha, upA)), tf.sum(tf.mul(r.write, upW)));
    })([H]);
    const pg = tf.variableGrads(() => {
      const r = mhcLiteCoefficients(params, c, prefix, H);
      return tf.add(tf.sum(tf.mul(r.alpha, upA)), tf.sum(tf.mul(r.write, upW))) as Scalar;
    }, vars);
    const out = {
      alpha: (alpha as Tensor).dataSync() as Float32Array,
      write: (write as Tensor).dataSync() as Float32Array,
      dH: (g[0] as Tensor).dataSync() as Float32Array,
      params: Object.fromEntries(names.map((k, i) => [k.slice(prefix.length + 1), pg.grads[(vars[i] as Variable).name]?.dataSync() as Float32Array])),
    };
    tf.dispose([alpha as Tensor, write as Tensor, ...g, pg.value, ...Object.values(pg.grads)]);
    return out;
  };
  // constants built on first use (engine/constants.ts: the reduction gradients' ones) are kept on purpose
  const live = () => tf.memory().numTensors - constantMemory().numTensors;
  const before = live();
  const f = run(true);
  const leaked = live() - before;
  const u = run(false);
  const err: Record<string, number> = { alpha: relErr(f.alpha, u.alpha), write: relErr(f.write, u.write), dH: relErr(f.dH, u.dH) };
  for (const k of Object.keys(u.params)) err[`d ${k}`] = relErr(f.params[k] as Float32Array, u.params[k] as Float32Array);
  tf.dispose([H, upA, upW]);
  disposeParams(params);
  return { n, err, leaked };
}

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'parity');
function parity(name: string, fused: boolean) {
  setFused(fused);
  const file = readSafetensorsFile(path.join(DIR, `${name}.safetensors`));
  const fx = JSON.parse(fs.readFileSync(path.join(DIR, `${name}.json`), 'utf8')) as { tokens: number[][]; targets: number[][]; logits: number[][][]; loss: number };
  const config = configFromCheckpoint(file, name);
  const params = paramsFromCheckpoint(file, config, name);
  const [B, T] = [fx.tokens.length, fx.tokens[0]?.length ?? 0];
  const [logits, loss] = tf.tidy(() => {
    const l = forward(params, config, tf.tensor2d(fx.tokens.flat(), [B, T], 'int32'));
    return [l.dataSync() as Float32Array, crossEntropy(l, tf.tensor2d(fx.targets.flat(), [B, T], 'int32')).dataSync()[0] as number];
  });
  disposeParams(params);
  const want = fx.logits.flat(2);
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs((logits[i] as number) - (want[i] as number)));
  return { name, fused, maxAbsLogit: m, lossErr: Math.abs(loss - fx.loss) };
}

/**
 * numTensors after each of 3 forward + backward passes of the mhc_lite fixture; the engine's
 * constants (causal mask, and unfused the permutation matrices) are built in the first.
 */
function repeated(fused: boolean) {
  setFused(fused);
  const file = readSafetensorsFile(path.join(DIR, 'mhc_lite.safetensors'));
  const config = configFromCheckpoint(file, 'mhc_lite');
  const params = paramsFromCheckpoint(file, config, 'mhc_lite');
  const tokens = tf.tensor2d(Array.from({ length: 2 * 8 }, (_, i) => (i * 7) % config.vocabSize), [2, 8], 'int32');
  const counts = [0, 1, 2].map(() => {
    tf.tidy(() => void forward(params, config, tokens).dataSync());
    const { value, grads } = tf.variableGrads(() => crossEntropy(forward(params, config, tokens), tokens) as Scalar);
    tf.dispose([value, ...Object.values(grads)]);
    return tf.memory().numTensors;
  });
  tokens.dispose();
  disposeParams(params);
  return { fused, counts };
}

const out = {
  device: backend.device,
  repeated: [repeated(false), repeated(true)],
  coefficients: [2, 3, 4].map(coefficients),
  parity: ['none', 'hc', 'hc_n2', 'mhc', 'mhc_lite', 'mhc_lite_lss', 'mhc_lite_n3'].flatMap((n) => [parity(n, true), parity(n, false)]),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
