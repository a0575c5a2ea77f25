// The optimizer: AdamW groups per connection kind (the reference's rule: decay on every
// parameter with ≥ 2 dimensions, so the [n, n+1] static_alpha of hc and mhc and the LSS scales
// decay; none on biases, norms, scales, static_beta and mhc-lite's 1-D static_alpha; the fixed
// `noise` buffer in no group), the AdamW update against a hand computation, clipping by global
// norm, and the warmup-then-cosine schedule. test/train/reference-groups.test.ts compares the
// groups with the reference code's own.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { tf, type Tensor, type Variable } from '../../src/engine/tf.ts';
import { type Connection, MODEL_DEFAULTS, type ModelConfig, type StreamInit, validateModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams, type Params, paramSpecs } from '../../src/model/params.ts';
import { AdamW, clipByGlobalNorm, optimizerGroups } from '../../src/train/optimizer.ts';
import { learningRate } from '../../src/train/schedule.ts';

before(async () => {
  await initBackend('cpu');
});

function config(connection: Connection, nStreams: number, streamInit: StreamInit = { kind: 'copy' }, bias = true): ModelConfig {
  return validateModelConfig({ ...MODEL_DEFAULTS, vocabSize: 16, blockSize: 8, nLayers: 2, nHeads: 2, dModel: 8, bias, nStreams, connection, streamInit });
}

const CASES: { name: string; c: ModelConfig }[] = [
  { name: 'residual', c: config({ kind: 'residual' }, 1) },
  { name: 'residual without bias', c: config({ kind: 'residual' }, 1, { kind: 'copy' }, false) },
  { name: 'hc static', c: config({ kind: 'hc', dynamic: false, dynamicNorm: 'rms' }, 4) },
  { name: 'hc dynamic', c: config({ kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, 4) },
  { name: 'mhc', c: config({ kind: 'mhc', sinkhornIters: 20 }, 4) },
  { name: 'mhc-lite', c: config({ kind: 'mhc-lite' }, 4) },
  { name: 'mhc-lite lss', c: config({ kind: 'mhc-lite' }, 4, { kind: 'lss', center: 0.6 }) },
  { name: 'mhc-lite stream-embed', c: config({ kind: 'mhc-lite' }, 3, { kind: 'stream-embed' }) },
  { name: 'mhc-lite noise', c: config({ kind: 'mhc-lite' }, 3, { kind: 'noise', sigma: 0.2 }) },
];

/** The group each parameter belongs in, by name and rank, written out independently of paramSpecs. */
function expectedGroup(name: string, rank: number): 'decay' | 'noDecay' | 'none' {
  if (name === 'expand_stream.noise') return 'none';
  if (name.endsWith('.bias')) return 'noDecay';
  if (/\.branch_(attn|mlp)\.0\.weight$/.test(name) || name === 'transformer.ln_f.weight') return 'noDecay'; // LayerNorm
  if (/\.norm\.gamma$|\.static_beta$|_scale$/.test(name)) return 'noDecay';
  if (/\.dynamic_(alpha|beta)_fn$|\.static_alpha$/.test(name)) return rank >= 2 ? 'decay' : 'noDecay';
  if (/^transformer\.(wte|wpe)\.weight$/.test(name) || /\.1\.(c_attn|c_proj|c_fc)\.weight$/.test(name)) return 'decay';
  if (name === 'expand_stream.lss' || name === 'expand_stream.stream_embed') return 'decay';
  throw new Error(`parameter ${name} is not classified by this test; add it`);
}

for (const { name, c } of CASES) {
  test(`optimizer groups: ${name}`, () => {
    const params = initParams(c, 1);
    try {
      const groups = optimizerGroups(params, paramSpecs(c, 1));
      const want = { decay: [] as string[], noDecay: [] as string[], none: [] as string[] };
      for (const [n, v] of params) want[expectedGroup(n, v.shape.length)].push(n);
      assert.deepEqual([...groups.decay].sort(), want.decay.sort());
      assert.deepEqual([...groups.noDecay].sort(), want.noDecay.sort());
      for (const n of want.none) assert.equal(params.get(n)?.trainable, false, `${n} is not trainable`);
      for (const n of [...groups.decay, ...groups.noDecay]) assert.equal(params.get(n)?.trainable, true, n);
      // Spot checks of the list.
      assert.ok(groups.decay.includes('transformer.wte.weight') && groups.decay.includes('transformer.wpe.weight'));
      if (c.bias) assert.ok(groups.noDecay.includes('transformer.h.0.branch_attn.1.c_attn.bias'));
      assert.ok(groups.noDecay.includes('transformer.ln_f.weight'));
      if (c.streamInit.kind === 'lss') assert.ok(groups.decay.includes('expand_stream.lss'));
      if (c.connection.kind !== 'residual') {
        // Decay pulls hc/mhc mixing logits towards 0, as in the reference; mhc-lite's are 1-D.
        const alphaGroup = c.connection.kind === 'mhc-lite' ? groups.noDecay : groups.decay;
        assert.ok(alphaGroup.includes('transformer.h.1.hc_mlp.static_alpha'));
        assert.ok(groups.noDecay.includes('transformer.h.1.hc_mlp.static_beta'));
      }
      if (c.connection.kind === 'hc' && c.connection.dynamic) {
        assert.ok(groups.decay.includes('transformer.h.0.hc_attn.dynamic_alpha_fn'));
        assert.ok(groups.noDecay.includes('transformer.h.0.hc_attn.dynamic_beta_fn')); // 1-D in HC
        assert.ok(groups.noDecay.includes('transformer.h.0.hc_attn.norm.gamma'));
      }
      if (c.connection.kind === 'mhc' || c.connection.kind === 'mhc-lite') {
        assert.ok(groups.decay.includes('transformer.h.0.hc_attn.dynamic_beta_fn')); // 2-D in mHC
        assert.ok(groups.noDecay.includes('transformer.h.0.hc_attn.residual_scale'));
      }
      if (!c.bias) assert.ok(![...params.keys()].some((n) => n.endsWith('.bias')));
    } finally {
      disposeParams(params);
    }
  });
}

test('AdamW applies decay to the decay group only (zero gradients isolate the decay)', () => {
  const c = CASES.find((k) => k.name === 'hc dynamic')?.c as ModelConfig;
  const params = initParams(c, 3);
  const groups = optimizerGroups(params, paramSpecs(c, 3));
  const opt = new AdamW(params, groups, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.5 });
  const before = new Map([...params].map(([n, v]) => [n, Float32Array.from(v.dataSync())]));
  const grads = new Map<string, Tensor>([...groups.decay, ...groups.noDecay].map((n) => [n, tf.zerosLike(params.get(n) as Variable)]));
  try {
    opt.step(grads, 0.1);
    for (const [n, v] of params) {
      const now = v.dataSync();
      const was = before.get(n) as Float32Array;
      const factor = groups.decay.includes(n) ? 1 - 0.1 * 0.5 : 1;
      for (let i = 0; i < was.length; i++) assert.ok(Math.abs((now[i] as number) - (was[i] as number) * factor) <= 1e-7 * Math.abs(was[i] as number) + 1e-12, `${n}[${i}]`);
    }
    assert.ok(groups.decay.length > 0 && groups.noDecay.length > 0);
  } finally {
    for (const g of grads.values()) g.dispose();
    opt.dispose();
    disposeParams(params);
  }
});

/** PyTorch's AdamW on plain numbers: decoupled decay, moments, bias-corrected step. */
function adamwByHand(p0: number[], gs: number[][], lr: number, wd: number, b1: number, b2: number, eps: number): number[][] {
  let p = [...p0];
  let m = p.map(() => 0);
  let v = p.map(() => 0);
  const out: number[][] = [];
  gs.forEach((g, k) => {
    const t = k + 1;
    p = p.map((x) => x * (1 - lr * wd));
    m = m.map((x, i) => b1 * x + (1 - b1) * (g[i] as number));
    v = v.map((x, i) => b2 * x + (1 - b2) * (g[i] as number) ** 2);
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    p = p.map((x, i) => x - (lr / bc1) * ((m[i] as number) / (Math.sqrt(v[i] as number) / Math.sqrt(bc2) + eps)));
    out.push([...p]);
  });
  return out;
}

test('AdamW matches a hand-computed update over two steps, with and without decay', () => {
  const p0 = [1.5, -2];
  const gs = [
    [0.5, -1],
    [-0.25, 2],
  ];
  const lr = 0.1;
  const cfg = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.2 };
  const params: Params = new Map([
    ['w', tf.variable(tf.tensor1d(p0), true, 'w')],
    ['b', tf.variable(tf.tensor1d(p0), true, 'b')],
  ]);
  const opt = new AdamW(params, { decay: ['w'], noDecay: ['b'] }, cfg);
  const withDecay = adamwByHand(p0, gs, lr, cfg.weightDecay, cfg.beta1, cfg.beta2, cfg.eps);
  const without = adamwByHand(p0, gs, lr, 0, cfg.beta1, cfg.beta2, cfg.eps);
  try {
    gs.forEach((g, k) => {
      const grads = new Map<string, Tensor>([
        ['w', tf.tensor1d(g)],
        ['b', tf.tensor1d(g)],
      ]);
      opt.step(grads, lr);
      for (const t of grads.values()) t.dispose();
      assert.equal(opt.t, k + 1);
      const w = Array.from(params.get('w')?.dataSync() ?? []);
      const b = Array.from(params.get('b')?.dataSync() ?? []);
      (withDecay[k] as number[]).forEach((x, i) => assert.ok(Math.abs((w[i] as number) - x) < 1e-6, `decay step ${k + 1}[${i}]: ${w[i]} vs ${x}`));
      (without[k] as number[]).forEach((x, i) => assert.ok(Math.abs((b[i] as number) - x) < 1e-6, `no decay step ${k + 1}[${i}]: ${b[i]} vs ${x}`));
    });
    // The two differ by more than the tolerance, so the test tells decay from no decay.
    assert.ok(Math.abs((withDecay[1] as number[])[0] as number - ((without[1] as number[])[0] as number)) > 1e-3);
    // State round-trips: a fresh optimizer loaded with it takes the same third step.
    const state = opt.state();
    assert.deepEqual([...state.keys()].sort(), ['optimizer.m.b', 'optimizer.m.w', 'optimizer.v.b', 'optimizer.v.w']);
    const copy: Params = new Map([...params].map(([n, v]) => [n, tf.variable(v.clone(), true, `copy-${n}`)]));
    const loaded = new AdamW(copy, { decay: ['w'], noDecay: ['b'] }, cfg);
    loaded.load(opt.t, state, 'test');
    const g3 = [0.125, -0.5];
    for (const o of [opt, loaded]) {
      const grads = new Map<string, Tensor>([
        ['w', tf.tensor1d(g3)],
        ['b', tf.tensor1d(g3)],
      ]);
      o.step(grads, lr);
      for (const t of grads.values()) t.dispose();
    }
    for (const n of ['w', 'b']) assert.deepEqual(Array.from(copy.get(n)?.dataSync() ?? []), Array.from(params.get(n)?.dataSync() ?? []), n);
    assert.notDeepEqual(Array.from(params.get('w')?.dataSync() ?? []), (withDecay[1] as number[]).map(Math.fround));
    loaded.dispose();
    disposeParams(copy);
  } finally {
    opt.dispose();
    disposeParams(params);
  }
});

test('clipByGlobalNorm scales all gradients together above the limit and leaves them below it', () => {
  const make = () =>
    new Map<string, Tensor>([
      ['a', tf.tensor1d([3, 0])],
      ['b', tf.tensor2d([[0], [4]])],
    ]);
  const below = make();
  const r1 = clipByGlobalNorm(below, 10);
  assert.ok(Math.abs(r1.norm - 5) < 1e-6);
  assert.equal(r1.grads, below);
  assert.deepEqual(Array.from(r1.grads.get('a')?.dataSync() ?? []), [3, 0]);

  const r2 = clipByGlobalNorm(make(), 1);
  assert.ok(Math.abs(r2.norm - 5) < 1e-6);
  const a = Array.from(r2.grads.get('a')?.dataSync() ?? []);
  const b = Array.from(r2.grads.get('b')?.dataSync() ?? []);
  assert.ok(Math.abs((a[0] as number) - 0.6) < 1e-6 && a[1] === 0, `a = ${a}`);
  assert.ok(b[0] === 0 && Math.abs((b[1] as number) - 0.8) < 1e-6, `b = ${b}`);
  assert.deepEqual(r2.grads.get('b')?.shape, [2, 1]);
  for (const g of [...r1.grads.values(), ...r2.grads.values()]) g.dispose();

  const off = clipByGlobalNorm(make(), 0); // 0 disables clipping
  assert.deepEqual(Array.from(off.grads.get('b')?.dataSync() ?? []), [0, 4]);
  for (const g of off.grads.values()) g.dispose();
});

test('schedule: linear warmup, cosine to minLr, constant after', () => {
  const s = { lr: 1, minLr: 0.1, warmupSteps: 10, decaySteps: 110 };
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  for (let it = 0; it < 10; it++) close(learningRate(s, it), (it + 1) / 11);
  close(learningRate(s, 10), 1);
  close(learningRate(s, 60), 0.55); // half-way down the cosine
  close(learningRate(s, 35), 0.1 + 0.45 * (1 + Math.cos(Math.PI / 4)));
  close(learningRate(s, 110), 0.1);
  close(learningRate(s, 500), 0.1);
  for (let it = 10; it < 110; it++) assert.ok(learningRate(s, it + 1) < learningRate(s, it), `decreasing at ${it}`);
  for (let it = 0; it < 10; it++) assert.ok(learningRate(s, it + 1) > learningRate(s, it), `increasing at ${it}`);
  // No warmup: the first step already uses the peak.
  close(learningRate({ ...s, warmupSteps: 0 }, 0), 1);
});
