// The connection kinds of issue 18 (docs/model.md): post-norm, residual-dual (ResiDual), altup and
// frac against a plain-loop reference written from the papers' equations, independent of the
// tfjs code; their equivalences with the residual model; gradients; tensor hygiene; hc at n = 8.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { constantMemory } from '../../src/engine/constants.ts';
import { tf, type Tensor } from '../../src/engine/tf.ts';
import { ConfigError } from '../../src/errors.ts';
import { type Connection, MODEL_DEFAULTS, type ModelConfig, validateModelConfig } from '../../src/model/config.ts';
import { hookName, type HookFn, type HookSite } from '../../src/model/hooks.ts';
import { disposeParams, initParams, initReadStreams, type Params, paramSpecs } from '../../src/model/params.ts';
import { streamWidth } from '../../src/model/stream-layout.ts';
import { forward, lossFn } from '../../src/model/transformer.ts';
import { maxAbsDiff, perturb, randomTokens } from './helpers.ts';

type Scalar = import('@tensorflow/tfjs').Scalar;

before(async () => {
  await initBackend('cpu');
});

/** d 4, 2 heads, 2 layers, vocab 7: small enough to follow by hand. */
function config(connection: Connection, nStreams: number, over: Partial<ModelConfig> = {}): ModelConfig {
  return validateModelConfig({ ...MODEL_DEFAULTS, vocabSize: 7, blockSize: 4, nLayers: 2, nHeads: 2, dModel: 4, nStreams, connection, ...over });
}

const FRAC_STATIC: Connection = { kind: 'frac', dynamic: false, dynamicNorm: 'rms' };
const FRAC_DYNAMIC: Connection = { kind: 'frac', dynamic: true, dynamicNorm: 'rms' };
const NEW_KINDS: readonly { name: string; config: ModelConfig }[] = [
  { name: 'post-norm', config: config({ kind: 'post-norm' }, 1) },
  { name: 'residual-dual', config: config({ kind: 'residual-dual' }, 2) },
  { name: 'altup K 2', config: config({ kind: 'altup' }, 2) },
  { name: 'altup K 3 lss', config: config({ kind: 'altup' }, 3, { streamInit: { kind: 'lss', center: 0.6 } }) },
  { name: 'frac static m 2', config: config(FRAC_STATIC, 2) },
  { name: 'frac dynamic m 2', config: config(FRAC_DYNAMIC, 2) },
  { name: 'frac dynamic layer m 2', config: config({ kind: 'frac', dynamic: true, dynamicNorm: 'layer' }, 2) },
  { name: 'frac static m 4', config: config(FRAC_STATIC, 4) },
];

// ---------- the plain-loop reference: one sequence, number arrays, the papers' equations ----------

type Vec = number[];
const get = (p: Params, name: string): Vec => Array.from((p.get(name) as Tensor).dataSync());
const add = (a: Vec, b: Vec): Vec => a.map((v, i) => v + (b[i] as number));
const scale = (a: Vec, s: number): Vec => a.map((v) => v * s);
const dot = (a: Vec, b: Vec): number => a.reduce((s, v, i) => s + v * (b[i] as number), 0);

function ln(x: Vec, w: Vec): Vec {
  const mu = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mu) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mu) / Math.sqrt(variance + 1e-5)) * (w[i] as number));
}

/** erf by its Taylor series (exact to ~1e-12 for |x| < 5). */
function erf(x: number): number {
  if (Math.abs(x) > 5) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 100; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** W stored [out, in] (PyTorch Linear). */
const linear = (x: Vec, W: Vec, out: number): Vec => Array.from({ length: out }, (_, o) => dot(x, W.slice(o * x.length, (o + 1) * x.length)));

function attention(p: Params, l: number, X: Vec[], nh: number, preNorm: boolean): Vec[] {
  const pre = `transformer.h.${l}.branch_attn`;
  const d = (X[0] as Vec).length;
  const dh = d / nh;
  const xn = preNorm ? X.map((x) => ln(x, get(p, `${pre}.0.weight`))) : X;
  const qkv = xn.map((x) => linear(x, get(p, `${pre}.1.c_attn.weight`), 3 * d));
  const merged = X.map((_, t) => {
    const o: Vec = [];
    for (let h = 0; h < nh; h++) {
      const q = (qkv[t] as Vec).slice(h * dh, (h + 1) * dh);
      const scores = qkv.slice(0, t + 1).map((r) => dot(q, r.slice(d + h * dh, d + (h + 1) * dh)) / Math.sqrt(dh));
      const mx = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - mx));
      const z = e.reduce((a, b) => a + b, 0);
      for (let k = 0; k < dh; k++) o.push(e.reduce((s, a, u) => s + (a / z) * ((qkv[u] as Vec)[2 * d + h * dh + k] as number), 0));
    }
    return o;
  });
  return merged.map((m) => linear(m, get(p, `${pre}.1.c_proj.weight`), d));
}

function mlp(p: Params, l: number, X: Vec[], preNorm: boolean): Vec[] {
  const pre = `transformer.h.${l}.branch_mlp`;
  const d = (X[0] as Vec).length;
  return X.map((x) => {
    const xn = preNorm ? ln(x, get(p, `${pre}.0.weight`)) : x;
    const h = linear(xn, get(p, `${pre}.1.c_fc.weight`), 4 * d).map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    return linear(h, get(p, `${pre}.1.c_proj.weight`), d);
  });
}

const branch = (p: Params, l: number, m: 'attn' | 'mlp', X: Vec[], nh: number, preNorm: boolean) => (m === 'attn' ? attention(p, l, X, nh, preNorm) : mlp(p, l, X, preNorm));

/** Logits [T][V] of one token sequence, per the equations of docs/model.md. */
function reference(p: Params, c: ModelConfig, tokens: number[]): Vec[] {
  const d = c.dModel;
  const n = c.nStreams;
  const wte = get(p, 'transformer.wte.weight');
  const wpe = get(p, 'transformer.wpe.weight');
  const lnf = get(p, 'transformer.ln_f.weight');
  const h0 = tokens.map((tok, t) => add(wte.slice(tok * d, (tok + 1) * d), wpe.slice(t * d, (t + 1) * d)));
  const unembed = (r: Vec) => Array.from({ length: c.vocabSize }, (_, v) => dot(r, wte.slice(v * d, (v + 1) * d)));
  const kind = c.connection.kind;
  const MODS = ['attn', 'mlp'] as const;
  if (kind === 'residual' || kind === 'post-norm') {
    let x = h0;
    for (let l = 0; l < c.nLayers; l++) {
      for (const m of MODS) {
        const y = branch(p, l, m, x, c.nHeads, kind === 'residual');
        x = kind === 'residual' ? x.map((v, t) => add(v, y[t] as Vec)) : x.map((v, t) => ln(add(v, y[t] as Vec), get(p, `transformer.h.${l}.branch_${m}.0.weight`)));
      }
    }
    return x.map((v) => unembed(ln(v, lnf)));
  }
  if (kind === 'residual-dual') {
    let xa = h0;
    let xd = h0;
    for (let l = 0; l < c.nLayers; l++) {
      for (const m of MODS) {
        const y = branch(p, l, m, xa, c.nHeads, false);
        xa = xa.map((v, t) => ln(add(v, y[t] as Vec), get(p, `transformer.h.${l}.branch_${m}.0.weight`)));
        xd = xd.map((v, t) => add(v, y[t] as Vec));
      }
    }
    return xa.map((v, t) => unembed(add(v, ln(xd[t] as Vec, lnf))));
  }
  if (kind === 'altup') {
    const lss = c.streamInit.kind === 'lss' ? get(p, 'expand_stream.lss') : undefined;
    let X = Array.from({ length: n }, (_, i) => h0.map((v) => (lss ? v.map((a, k) => a * (lss[i * d + k] as number)) : v.slice()))); // [K][T]
    for (let l = 0; l < c.nLayers; l++) {
      const P = get(p, `transformer.h.${l}.altup.prediction_coefs`);
      const g = get(p, `transformer.h.${l}.altup.correction_coefs`);
      const j = l % n;
      const xhat = X.map((_, i) => h0.map((_, t) => X.reduce((s, blk, k) => add(s, scale(blk[t] as Vec, P[i * n + k] as number)), new Array(d).fill(0))));
      const xj = xhat[j] as Vec[];
      const a = attention(p, l, xj, c.nHeads, true);
      const mid = xj.map((v, t) => add(v, a[t] as Vec));
      const f = mlp(p, l, mid, true);
      const xt = mid.map((v, t) => add(v, f[t] as Vec));
      X = xhat.map((blk, i) => blk.map((v, t) => add(v, scale(add(xt[t] as Vec, scale(xj[t] as Vec, -1)), g[i] as number))));
    }
    return h0.map((_, t) => unembed(X.reduce((s, blk) => add(s, ln(blk[t] as Vec, lnf)), new Array(d).fill(0))));
  }
  if (kind === 'frac') {
    const w = d / n;
    const conn = c.connection as { dynamic: boolean; dynamicNorm: 'rms' | 'layer' };
    let H = h0.map((v) => Array.from({ length: n }, (_, s) => v.slice(s * w, (s + 1) * w))); // [T][m]
    for (let l = 0; l < c.nLayers; l++) {
      for (const m of MODS) {
        const pre = `transformer.h.${l}.hc_${m}`;
        const sa = get(p, `${pre}.static_alpha`);
        const sb = get(p, `${pre}.static_beta`);
        // coefficients per token: alpha[s][0..2m), beta[s]
        const coeffs = H.map((fr) => fr.map((hs, s) => {
          let alpha = sa.slice(s * 2 * n, (s + 1) * 2 * n);
          let beta = sb[s] as number;
          if (conn.dynamic) {
            const gamma = get(p, `${pre}.norm.gamma`);
            const mu = conn.dynamicNorm === 'layer' ? hs.reduce((a, b) => a + b, 0) / w : 0;
            const cen = hs.map((v) => v - mu);
            const denom = conn.dynamicNorm === 'rms' ? Math.max(Math.sqrt(dot(hs, hs)), 1e-12) / Math.sqrt(w) : Math.sqrt(dot(cen, cen) / w + 1e-5);
            const hn = cen.map((v, k) => (v / denom) * ((gamma[k] as number) + 1));
            const fa = get(p, `${pre}.dynamic_alpha_fn`); // [w, 2m]
            const as = get(p, `${pre}.dynamic_alpha_scale`)[0] as number;
            alpha = alpha.map((v, col) => v + as * Math.tanh(hn.reduce((acc, x, k) => acc + x * (fa[k * 2 * n + col] as number), 0)));
            beta += (get(p, `${pre}.dynamic_beta_scale`)[0] as number) * Math.tanh(dot(hn, get(p, `${pre}.dynamic_beta_fn`)));
          }
          return { alpha, beta };
        }));
        const x = H.map((fr, t) => Array.from({ length: n }, (_, j) => fr.reduce((acc, hs, s) => add(acc, scale(hs, (coeffs[t] as { alpha: Vec }[])[s]?.alpha[j] as number)), new Array(w).fill(0))).flat());
        const y = branch(p, l, m, x, c.nHeads, true);
        H = H.map((fr, t) => Array.from({ length: n }, (_, u) => {
          const ct = coeffs[t] as { alpha: Vec; beta: number }[];
          const mixed = fr.reduce((acc, hs, s) => add(acc, scale(hs, ct[s]?.alpha[n + u] as number)), new Array(w).fill(0));
          return add(mixed, scale((y[t] as Vec).slice(u * w, (u + 1) * w), ct[u]?.beta as number));
        }));
      }
    }
    return H.map((fr) => unembed(ln(fr.flat(), lnf)));
  }
  throw new Error(`no reference for ${kind}`);
}

function logitsOf(p: Params, c: ModelConfig, tokens: Tensor, hooks?: Map<string, HookFn>): Float32Array {
  return tf.tidy(() => forward(p, c, tokens, hooks ? { hooks } : {}).dataSync().slice() as Float32Array);
}

// ---------- tests ----------

for (const { name, config: c } of [{ name: 'residual (the reference itself)', config: config({ kind: 'residual' }, 1) }, ...NEW_KINDS]) {
  test(`${name}: the forward equals the plain-loop reference of its equations`, () => {
    const p = initParams(c, 3);
    perturb(p, 4);
    const tokens = randomTokens(9, 2, 3, c.vocabSize);
    const got = logitsOf(p, c, tokens);
    const ids = Array.from(tokens.dataSync());
    const want = [0, 1].flatMap((b) => reference(p, c, ids.slice(b * 3, b * 3 + 3)).flat());
    assert.ok(maxAbsDiff(got, want) < 2e-4, `max |Δ| ${maxAbsDiff(got, want)}`);
    // The logits are not trivially small: the comparison has something to compare.
    assert.ok(want.some((v) => Math.abs(v) > 1e-2));
    tokens.dispose();
    disposeParams(p);
  });
}

test('post-norm differs from residual exactly by the norm placement', () => {
  const res = config({ kind: 'residual' }, 1, { nLayers: 1 });
  const post = config({ kind: 'post-norm' }, 1, { nLayers: 1 });
  const p = initParams(res, 3);
  perturb(p, 4);
  const tokens = randomTokens(9, 1, 3, 7);
  // The two kinds hold the same tensors under the same names: one set of weights serves both.
  assert.deepEqual(paramSpecs(post, 3).map((s) => s.name), paramSpecs(res, 3).map((s) => s.name));
  const ids = Array.from(tokens.dataSync());
  // Hand-composed: residual h + T(LN h) vs Post-Norm LN(h + T(h)) with the same LN, layer 0.
  const wte = get(p, 'transformer.wte.weight');
  const wpe = get(p, 'transformer.wpe.weight');
  const h0 = ids.map((tok, t) => add(wte.slice(tok * 4, tok * 4 + 4), wpe.slice(t * 4, t * 4 + 4)));
  const a = attention(p, 0, h0, 2, false);
  const afterAttn = h0.map((v, t) => ln(add(v, a[t] as Vec), get(p, 'transformer.h.0.branch_attn.0.weight')));
  const seen: number[] = [];
  const hooks = new Map<string, HookFn>([[hookName({ kind: 'resid_mid', layer: 0 }), (x) => void seen.push(...x.dataSync())]]);
  logitsOf(p, post, tokens, hooks);
  assert.ok(maxAbsDiff(seen, afterAttn.flat()) < 1e-5);
  const resLogits = logitsOf(p, res, tokens);
  const postLogits = logitsOf(p, post, tokens);
  assert.ok(maxAbsDiff(resLogits, postLogits) > 1e-3, 'the two placements give different models');
  tokens.dispose();
  disposeParams(p);
});

test('frac at its init (static or dynamic, any m) and altup with K = 1 equal the residual model', () => {
  const res = config({ kind: 'residual' }, 1);
  const pRes = initParams(res, 11);
  perturb(pRes, 12);
  const tokens = randomTokens(5, 2, 4, 7);
  const want = logitsOf(pRes, res, tokens);
  const cases: ModelConfig[] = [config(FRAC_STATIC, 1), config(FRAC_STATIC, 2), config(FRAC_DYNAMIC, 4), config({ kind: 'altup' }, 1)];
  for (const c of cases) {
    const p = initParams(c, 11);
    // The shared backbone takes the residual model's (perturbed) values; connection params stay at init.
    for (const [name, v] of p) if (pRes.has(name)) v.assign(pRes.get(name) as Tensor);
    assert.ok(maxAbsDiff(logitsOf(p, c, tokens), want) < 1e-5, `${c.connection.kind} ${c.nStreams}`);
    // Off its init the kind is another model: the equivalence is not vacuous.
    perturb(p, 13);
    assert.ok(maxAbsDiff(logitsOf(p, c, tokens), want) > 1e-4, `${c.connection.kind} ${c.nStreams} perturbed`);
    disposeParams(p);
  }
  tokens.dispose();
  disposeParams(pRes);
});

for (const { name, config: c } of [...NEW_KINDS, { name: 'hc dynamic n 8', config: config({ kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, 8) }, { name: 'hc static n 8', config: config({ kind: 'hc', dynamic: false, dynamicNorm: 'rms' }, 8) }]) {
  test(`${name}: every trainable parameter gets a nonzero, finite gradient; no tensor leaks`, () => {
    const p = initParams(c, 21);
    perturb(p, 22);
    const batch = randomTokens(23, 2, 4, c.vocabSize);
    const tokens = tf.slice(batch, [0, 0], [2, 3]);
    const targets = tf.slice(batch, [0, 1], [2, 3]);
    // constants built on first use (engine/constants.ts) are kept on purpose and not leaks
    const live = () => tf.memory().numTensors - constantMemory().numTensors;
    const before = live();
    tf.tidy(() => forward(p, c, tokens).dataSync());
    assert.equal(live(), before, 'forward');
    const { value, grads } = tf.variableGrads(() => lossFn(p, c, tokens, targets) as Scalar);
    for (const [pname, v] of p) {
      if (!v.trainable) continue;
      const g = grads[v.name];
      assert.ok(g, `${pname} has a gradient`);
      const data = g.dataSync();
      assert.ok(data.every(Number.isFinite), `${pname} gradient finite`);
      assert.ok(data.some((x) => x !== 0), `${pname} gradient nonzero`);
    }
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    assert.equal(live(), before, 'backward');
    for (const t of [batch, tokens, targets]) t.dispose();
    disposeParams(p);
  });
}

test('the new kinds expose their streams at the resid and ln_final sites as [B, T, n, w]; hooks observe and replace', () => {
  for (const { name, config: c } of NEW_KINDS) {
    const p = initParams(c, 31);
    perturb(p, 32);
    const tokens = randomTokens(33, 2, 3, c.vocabSize);
    const n = c.nStreams;
    const w = streamWidth(c);
    assert.equal(w, c.connection.kind === 'frac' ? 4 / n : 4);
    const shapes = new Map<string, number[]>();
    const sites: HookSite[] = [{ kind: 'ln_final' }];
    for (let layer = 0; layer < c.nLayers; layer++) for (const kind of ['resid_pre', 'resid_mid', 'resid_post'] as const) sites.push({ kind, layer }, { kind, layer, stream: n - 1 });
    const hooks = new Map<string, HookFn>(sites.map((s) => [hookName(s), (x, nm) => void shapes.set(nm, x.shape)]));
    const plain = logitsOf(p, c, tokens);
    assert.ok(maxAbsDiff(logitsOf(p, c, tokens, hooks), plain) === 0, `${name}: observing changes nothing`);
    for (const s of sites) assert.deepEqual(shapes.get(hookName(s)), 'stream' in s ? [2, 3, w] : [2, 3, n, w], `${name} ${hookName(s)}`);
    // Zeroing the last stream after layer 0 changes the output.
    const zero = new Map<string, HookFn>([[hookName({ kind: 'resid_post', layer: 0, stream: n - 1 }), (x) => tf.zerosLike(x)]]);
    assert.ok(maxAbsDiff(logitsOf(p, c, tokens, zero), plain) > 1e-4, `${name}: a replacement takes effect`);
    tokens.dispose();
    disposeParams(p);
  }
});

test('frac exposes Γ, A and β at read, mixing and write; the kinds without coefficients have none', () => {
  const c = config(FRAC_DYNAMIC, 2);
  const p = initParams(c, 41);
  perturb(p, 42);
  const tokens = randomTokens(43, 1, 3, 7);
  const got = new Map<string, number[]>();
  const names = (['read', 'mixing', 'write'] as const).map((kind) => hookName({ kind, layer: 1, module: 'mlp' }));
  logitsOf(p, c, tokens, new Map(names.map((nm) => [nm, (x: Tensor) => void got.set(nm, x.shape)])));
  assert.deepEqual(names.map((nm) => got.get(nm)), [[1, 3, 2, 2], [1, 3, 2, 2], [1, 3, 2]]);
  tokens.dispose();
  disposeParams(p);
  for (const k of [config({ kind: 'post-norm' }, 1), config({ kind: 'residual-dual' }, 2), config({ kind: 'altup' }, 2)]) {
    const q = initParams(k, 1);
    const seen: string[] = [];
    const t = randomTokens(1, 1, 2, 7);
    logitsOf(q, k, t, new Map(names.map((nm) => [nm, () => void seen.push(nm)])));
    assert.deepEqual(seen, [], k.connection.kind);
    t.dispose();
    disposeParams(q);
  }
});

test('parameters: names, shapes and decay of the new kinds; no init read streams', () => {
  const frac = paramSpecs(config(FRAC_DYNAMIC, 2), 0).filter((s) => s.name.startsWith('transformer.h.0.hc_attn'));
  assert.deepEqual(frac.map((s) => [s.name.slice('transformer.h.0.hc_attn.'.length), s.shape, s.decay]), [
    ['static_alpha', [2, 4], true],
    ['static_beta', [2], false],
    ['norm.gamma', [2], false],
    ['dynamic_alpha_fn', [2, 4], true],
    ['dynamic_alpha_scale', [], false],
    ['dynamic_beta_fn', [2], false],
    ['dynamic_beta_scale', [], false],
  ]);
  const alt = paramSpecs(config({ kind: 'altup' }, 3), 0).filter((s) => s.name.includes('altup'));
  assert.deepEqual(alt.map((s) => [s.name, s.shape, s.decay]), [
    ['transformer.h.0.altup.prediction_coefs', [3, 3], true],
    ['transformer.h.0.altup.correction_coefs', [3], false],
    ['transformer.h.1.altup.prediction_coefs', [3, 3], true],
    ['transformer.h.1.altup.correction_coefs', [3], false],
  ]);
  const res = paramSpecs(config({ kind: 'residual' }, 1), 0).map((s) => s.name);
  for (const k of [config({ kind: 'post-norm' }, 1), config({ kind: 'residual-dual' }, 2)]) assert.deepEqual(paramSpecs(k, 0).map((s) => s.name), res);
  for (const { config: c } of NEW_KINDS) assert.deepEqual(initReadStreams(c, 0), []);
});

test('bad stream counts, widths and stream inits are ConfigErrors naming the value', () => {
  const bad: [Connection, number, Partial<ModelConfig>, RegExp][] = [
    [FRAC_STATIC, 3, {}, /dModel \(4\) must be divisible by nStreams \(3\)/],
    [{ kind: 'residual-dual' }, 3, {}, /residual-dual supports 2 to 2 streams, got 3/],
    [{ kind: 'residual-dual' }, 1, {}, /got 1/],
    [{ kind: 'post-norm' }, 2, {}, /post-norm supports 1 to 1 streams, got 2/],
    [{ kind: 'altup' }, 9, {}, /altup supports 1 to 8 streams, got 9/],
    [{ kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, 9, {}, /hc supports 1 to 8 streams, got 9/],
    [FRAC_STATIC, 2, { streamInit: { kind: 'lss', center: 0.6 } }, /stream init "lss" is not defined for connection frac/],
  ];
  for (const [conn, n, over, re] of bad) assert.throws(() => config(conn, n, over), (e: unknown) => e instanceof ConfigError && re.test(e.message));
});
