// Mixing before its constraint on planted models: an mHC-lite whose permutation logits single out
// one permutation per module has entropy ≈ 0, ν equal to the planted spread and a product whose
// column sums are exactly 1; an mHC with a planted Sinkhorn input has ν = max − min of it and the
// column sums of its float64 Sinkhorn; a static HC has the hand-computed column sums of A_r and
// of its power; the hook on the logits observes without changing anything and replaces A_r's input.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { binCounts, NU_BINS, NU_THRESHOLD, preConstraintDiagnostics, preConstraintOfBatches, preConstraintPasses, tokenQuantiles } from '../../probes/pre-constraint.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { factorial, permutationMatrices } from '../../src/engine/permutations.ts';
import { tf, type Tensor } from '../../src/engine/tf.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { type HookFn, hookName } from '../../src/model/hooks.ts';
import { disposeParams, initParams, modulePrefix, type Params } from '../../src/model/params.ts';
import { disposeCachedRun, runWithCache } from '../../src/model/run-with-cache.ts';
import { forward } from '../../src/model/transformer.ts';
import { maxAbsDiff, perturb, randomTokens, tinyConfig } from '../model/helpers.ts';

before(async () => {
  await initBackend('cpu');
});

const MODULES = ['attn', 'mlp'] as const;
const forEachModule = (c: ModelConfig, f: (prefix: string, k: number) => void) => {
  for (let l = 0; l < c.nLayers; l++) MODULES.forEach((m, i) => f(modulePrefix(l, m), 2 * l + i));
};

function setParam(p: Params, name: string, values: ArrayLike<number>): void {
  const v = p.get(name);
  if (!v) throw new Error(`no parameter ${name}`);
  tf.tidy(() => v.assign(tf.tensor(Float32Array.from(values), v.shape)));
}

function tokenBatches(c: ModelConfig, count = 2): Tensor[] {
  return Array.from({ length: count }, (_, i) => randomTokens(40 + i, 2, c.blockSize, c.vocabSize));
}

function diagnose(c: ModelConfig, p: Params) {
  const xs = tokenBatches(c);
  try {
    return preConstraintOfBatches(p, c, xs, 'planted');
  } finally {
    for (const x of xs) x.dispose();
  }
}

/** Row-major n×n product a·b. */
function matmul(a: number[], b: number[], n: number): number[] {
  return Array.from({ length: n * n }, (_, k) => {
    const i = Math.floor(k / n), j = k % n;
    let s = 0;
    for (let m = 0; m < n; m++) s += (a[i * n + m] as number) * (b[m * n + j] as number);
    return s;
  });
}

const colSums = (a: number[], n: number) => Array.from({ length: n }, (_, t) => a.reduce((s, v, k) => s + (k % n === t ? v : 0), 0));

test('tokenQuantiles and binCounts on known values', () => {
  const q = tokenQuantiles(Float64Array.from([5, 1, 4, 2, 3]));
  assert.deepEqual(q, { mean: 3, std: Math.sqrt(2), min: 1, q05: 1.2, q25: 2, q50: 3, q75: 4, q95: 4.8, max: 5 });
  assert.deepEqual(binCounts(Float64Array.from([0, 0.5, 1, 2.99, 3, 4]), 0, 3, 3), [2, 1, 2], 'the last bin is closed; values outside are dropped');
});

test('mHC-lite, one permutation per module: entropy ≈ 0, ν as planted, product column sums exactly 1', () => {
  const c = tinyConfig({ kind: 'mhc-lite' }, 3);
  const n = 3;
  const nPerm = factorial(n);
  const p = initParams(c, 1);
  try {
    perturb(p, 2); // every weight moves, then the mixing is pinned below
    const chosen: number[] = [];
    forEachModule(c, (prefix, k) => {
      const top = (2 * k + 1) % nPerm; // 1, 3, 5, 1: never the identity
      chosen.push(top);
      setParam(p, `${prefix}.residual_scale`, [0]); // no dynamic part: the logits are the static ones
      const stat = p.get(`${prefix}.static_alpha`)?.dataSync().slice() as Float32Array;
      for (let e = 0; e < nPerm; e++) stat[n + e] = e === top ? 10 : -40 + e; // spread 10 − (−40) = 50
      setParam(p, `${prefix}.static_alpha`, stat);
    });
    const r = diagnose(c, p);
    const K = 2 * c.nLayers;
    assert.equal(r.connection, 'mhc-lite');
    assert.equal(r.tokens, 2 * 2 * c.blockSize);
    assert.deepEqual(r.modules, ['0.attn', '0.mlp', '1.attn', '1.mlp']);
    // ν: max − min of the n! logits, the same for every token.
    assert.ok(r.nu);
    assert.equal(r.nu.over, 'permutation_logits');
    assert.equal(r.nu.entries, nPerm);
    assert.equal(r.nu.share_above, 1);
    assert.equal(r.nu.spread.min, 50);
    assert.equal(r.nu.spread.max, 50);
    assert.equal(r.nu.histogram.counts.length, NU_BINS);
    assert.equal(r.nu.histogram.hi, 50);
    assert.equal(r.nu.histogram.counts.reduce((a, b) => a + b, 0), r.tokens * K);
    assert.equal(r.nu.histogram.counts[NU_BINS - 1], r.tokens * K, 'every ν in the last (closed) bin');
    // Entropy ≈ 0: the other weights are at most e^(−35) of the top one.
    const perms = r.permutations;
    assert.ok(perms);
    assert.equal(perms.n_permutations, nPerm);
    assert.ok(perms.entropy.max < 1e-12 && perms.entropy.min >= 0, JSON.stringify(perms.entropy));
    assert.equal(perms.identity_top_share, 0);
    assert.deepEqual(perms.per_module_identity_top_share, [0, 0, 0, 0]);
    // A_r and the product are permutation matrices: every column sums to exactly 1.
    assert.ok(r.column_sums.max_abs_deviation < 1e-6, `${r.column_sums.max_abs_deviation}`);
    assert.ok(r.product_column_sums.max_abs_deviation < 1e-6, `${r.product_column_sums.max_abs_deviation}`);
    for (const q of r.product_column_sums.per_column) assert.ok(Math.abs(q.q50 - 1) < 1e-6 && q.std < 1e-6);
    assert.equal(r.column_sums.per_module.length, K);
    for (const row of r.column_sums.per_module) assert.equal(row.length, n);
  } finally {
    disposeParams(p);
  }
});

test('mHC-lite, two permutations tied: normalised entropy log 2 / log n!, and the identity on top when it leads', () => {
  const c = tinyConfig({ kind: 'mhc-lite' }, 3);
  const n = 3;
  const nPerm = factorial(n);
  const p = initParams(c, 3);
  try {
    forEachModule(c, (prefix) => {
      setParam(p, `${prefix}.residual_scale`, [0]);
      const stat = p.get(`${prefix}.static_alpha`)?.dataSync().slice() as Float32Array;
      for (let e = 0; e < nPerm; e++) stat[n + e] = e === 0 || e === 4 ? 0 : -1e4; // identity and one 3-cycle, equal
      setParam(p, `${prefix}.static_alpha`, stat);
    });
    const r = diagnose(c, p);
    const want = Math.log(2) / Math.log(nPerm);
    assert.ok(r.permutations && Math.abs(r.permutations.entropy.mean - want) < 1e-12 && r.permutations.entropy.std < 1e-12, JSON.stringify(r.permutations?.entropy));
    // argmax takes the first of equal logits: the identity (index 0) is on top for every token.
    assert.equal(r.permutations.identity_top_share, 1);
    assert.ok(r.column_sums.max_abs_deviation < 1e-6);
  } finally {
    disposeParams(p);
  }
});

/** exp of the float64 log-space Sinkhorn of the row-major n×n logits, as src/model/connections/mhc.ts iterates it. */
function sinkhorn64(r: number[], n: number, iters: number): number[] {
  let x = [...r];
  const lse = (vs: number[]) => {
    const m = Math.max(...vs);
    return m + Math.log(vs.reduce((s, v) => s + Math.exp(v - m), 0));
  };
  for (let it = 0; it < iters; it++) {
    for (let t = 0; t < n; t++) {
      const z = lse(Array.from({ length: n }, (_, s) => x[s * n + t] as number));
      for (let s = 0; s < n; s++) x[s * n + t] = (x[s * n + t] as number) - z;
    }
    x = x.map((v, k) => v - lse(x.slice(Math.floor(k / n) * n, Math.floor(k / n) * n + n)));
  }
  return x.map(Math.exp);
}

test('mHC with a planted Sinkhorn input: ν = max − min of it, column sums of its Sinkhorn, product of the four', () => {
  const c = tinyConfig({ kind: 'mhc', sinkhornIters: 20 }, 3);
  const n = 3;
  const R = [0, -36, -2, -1, 0.5, -20, 3, -4, 0]; // max 3, min −36: ν = 39 > 30
  const p = initParams(c, 5);
  try {
    perturb(p, 6);
    forEachModule(c, (prefix) => {
      setParam(p, `${prefix}.residual_scale`, [0]);
      const stat = p.get(`${prefix}.static_alpha`)?.dataSync().slice() as Float32Array; // [n, n+1]: read logit, then R[s][·]
      for (let s = 0; s < n; s++) for (let t = 0; t < n; t++) stat[s * (n + 1) + 1 + t] = R[s * n + t] as number;
      setParam(p, `${prefix}.static_alpha`, stat);
    });
    const r = diagnose(c, p);
    assert.ok(r.nu);
    assert.equal(r.nu.over, 'sinkhorn_input');
    assert.equal(r.nu.entries, n * n);
    assert.equal(r.nu.spread.min, 39);
    assert.equal(r.nu.spread.max, 39);
    assert.equal(r.nu.share_above, 1);
    assert.deepEqual(r.nu.per_module.map((m) => m.share_above), [1, 1, 1, 1]);
    assert.equal(r.permutations, null);
    const A = sinkhorn64(R, n, 20);
    const want = colSums(A, n);
    assert.ok(want.some((v) => Math.abs(v - 1) > 1e-3), `the planted input is far enough from uniform that 20 iterations leave columns off 1: ${want}`);
    r.column_sums.per_column.forEach((q, t) => assert.ok(Math.abs(q.q50 - (want[t] as number)) < 1e-4 && q.max - q.min < 1e-6, `column ${t}: ${q.q50} vs ${want[t]}`));
    let P = A;
    for (let k = 1; k < 4; k++) P = matmul(P, A, n);
    colSums(P, n).forEach((v, t) => assert.ok(Math.abs((r.product_column_sums.per_column[t]?.q50 as number) - v) < 1e-4, `product column ${t}`));
  } finally {
    disposeParams(p);
  }
});

test('static HC with a planted A_r: column sums of A_r and of A_r⁴, no ν, no permutations', () => {
  const c = tinyConfig({ kind: 'hc', dynamic: false, dynamicNorm: 'rms' }, 3);
  const n = 3;
  const M = [0.9, 0.2, 0, 0.1, 0.7, 0.3, -0.1, 0.4, 1.2]; // column sums 0.9, 1.3, 1.5
  const p = initParams(c, 7);
  try {
    forEachModule(c, (prefix) => {
      const stat = p.get(`${prefix}.static_alpha`)?.dataSync().slice() as Float32Array;
      for (let s = 0; s < n; s++) for (let t = 0; t < n; t++) stat[s * (n + 1) + 1 + t] = M[s * n + t] as number;
      setParam(p, `${prefix}.static_alpha`, stat);
    });
    const r = diagnose(c, p);
    assert.equal(r.nu, null);
    assert.equal(r.permutations, null);
    [0.9, 1.3, 1.5].forEach((v, t) => {
      const q = r.column_sums.per_column[t];
      assert.ok(q && Math.abs(q.q05 - v) < 1e-6 && Math.abs(q.q95 - v) < 1e-6 && q.std < 1e-6, `column ${t}: ${JSON.stringify(q)}`);
    });
    assert.ok(Math.abs(r.column_sums.max_abs_deviation - 0.5) < 1e-6);
    const M4 = matmul(matmul(M, M, n), matmul(M, M, n), n);
    colSums(M4, n).forEach((v, t) => assert.ok(Math.abs((r.product_column_sums.per_column[t]?.mean as number) - v) < 1e-5, `product column ${t}`));
  } finally {
    disposeParams(p);
  }
});

test('perturbed mHC and mHC-lite: ν per token equals max − min of the cached logits; no tensor leaks', () => {
  for (const c of [tinyConfig({ kind: 'mhc', sinkhornIters: 20 }, 3), tinyConfig({ kind: 'mhc-lite' }, 3, { kind: 'lss', center: 0.6 })]) {
    const p = initParams(c, 9);
    try {
      perturb(p, 10);
      const xs = tokenBatches(c);
      try {
        preConstraintOfBatches(p, c, xs, 'x'); // the first forward keeps the engine's cached constants
        const before = tf.memory().numTensors;
        const r = preConstraintOfBatches(p, c, xs, 'x');
        assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
        const nus: number[] = [];
        for (const x of xs) {
          const names = Array.from({ length: c.nLayers }, (_, layer) => MODULES.map((module) => hookName({ kind: 'mixing_logits', layer, module }))).flat();
          const run = runWithCache(p, c, x, names);
          const width = c.connection.kind === 'mhc' ? 9 : 6;
          for (const name of names) {
            const v = run.cache.get(name)?.dataSync() as Float32Array;
            for (let i = 0; i < v.length; i += width) nus.push(Math.max(...v.subarray(i, i + width)) - Math.min(...v.subarray(i, i + width)));
          }
          disposeCachedRun(run);
        }
        const want = tokenQuantiles(Float64Array.from(nus));
        assert.ok(r.nu && Math.abs(r.nu.spread.mean - want.mean) < 1e-9 && r.nu.spread.q95 === want.q95 && r.nu.spread.max === want.max, c.connection.kind);
        assert.ok(r.nu.spread.std > 0, 'the dynamic part makes ν vary over tokens');
        assert.equal(r.nu.share_above, nus.filter((v) => v > NU_THRESHOLD).length / nus.length);
      } finally {
        for (const x of xs) x.dispose();
      }
    } finally {
      disposeParams(p);
    }
  }
});

test('the logits hook observes without changing the logits, and a replacement reaches A_r', () => {
  for (const c of [tinyConfig({ kind: 'mhc', sinkhornIters: 20 }, 3), tinyConfig({ kind: 'mhc-lite' }, 3)]) {
    const p = initParams(c, 11);
    try {
      perturb(p, 12);
      const x = randomTokens(13, 2, c.blockSize, c.vocabSize);
      const logitsOf = (hooks?: Map<string, HookFn>) => tf.tidy(() => forward(p, c, x, hooks ? { hooks } : {}).dataSync().slice());
      const names = Array.from({ length: c.nLayers }, (_, layer) => MODULES.map((module) => hookName({ kind: 'mixing_logits', layer, module }))).flat();
      const plain = logitsOf();
      let calls = 0;
      assert.equal(maxAbsDiff(plain, logitsOf(new Map(names.map((n) => [n, () => void calls++])))), 0, `${c.connection.kind}: observing`);
      assert.equal(calls, names.length);
      assert.equal(maxAbsDiff(plain, logitsOf(new Map(names.map((n) => [n, (t: Tensor) => tf.add(t, 0)])))), 0, `${c.connection.kind}: an identity replacement`);
      // Replace one module's logits so that A_r is a chosen permutation (σ = (1 2 0)).
      const site = hookName({ kind: 'mixing_logits', layer: 1, module: 'attn' });
      const plant: HookFn =
        c.connection.kind === 'mhc'
          ? (t) => tf.add(tf.zerosLike(t), tf.tensor2d([[-60, 0, -60], [-60, -60, 0], [0, -60, -60]]))
          : (t) => tf.add(tf.zerosLike(t), tf.tensor1d([-60, -60, -60, 0, -60, -60]));
      const mixing = hookName({ kind: 'mixing', layer: 1, module: 'attn' });
      const runHooked = tf.tidy(() => {
        let seen: Tensor | undefined;
        const keep: HookFn = (m) => {
          seen = tf.keep(tf.clone(m));
        };
        forward(p, c, x, { hooks: new Map<string, HookFn>([[site, plant], [mixing, keep]]) });
        return seen as Tensor;
      });
      const a = runHooked.dataSync().slice(0, 9);
      runHooked.dispose();
      const want = c.connection.kind === 'mhc' ? [0, 1, 0, 0, 0, 1, 1, 0, 0] : Array.from(permutationMatrices(3).subarray(3 * 9, 4 * 9));
      assert.ok(maxAbsDiff(a, want) < 1e-6, `${c.connection.kind}: A_r ${Array.from(a)} vs ${want}`);
      assert.ok(maxAbsDiff(plain, logitsOf(new Map([[site, plant]]))) > 1e-4, 'the replacement changes the logits');
      x.dispose();
    } finally {
      disposeParams(p);
    }
  }
});

test('from windows: one pass per batch with progress; the residual model has none', () => {
  const c = tinyConfig({ kind: 'mhc-lite' }, 2);
  const p = initParams(c, 15);
  try {
    const rng = randomTokens(16, 5, c.blockSize + 1, c.vocabSize).dataSync() as Int32Array;
    const windows = Array.from({ length: 5 }, (_, i) => rng.slice(i * (c.blockSize + 1), (i + 1) * (c.blockSize + 1)));
    assert.equal(preConstraintPasses({ config: c, windows, batch: 2 }), 3);
    const progress: [number, number][] = [];
    const r = preConstraintDiagnostics({ params: p, config: c, checkpoint: 'ck', windows, batch: 2 }, (d, t) => progress.push([d, t]));
    assert.deepEqual(progress, [[1, 3], [2, 3], [3, 3]]);
    assert.equal(r?.tokens, 5 * c.blockSize);
    assert.equal(r?.checkpoint, 'ck');
    // n = 2: A_r = w_0 I + w_1 swap, at init almost I: the identity leads at every token.
    assert.equal(r?.permutations?.identity_top_share, 1);
    const res = tinyConfig({ kind: 'residual' }, 1);
    assert.equal(preConstraintPasses({ config: res, windows, batch: 2 }), 0);
    const rp = initParams(res, 1);
    assert.equal(preConstraintDiagnostics({ params: rp, config: res, checkpoint: 'ck', windows, batch: 2 }), null);
    disposeParams(rp);
  } finally {
    disposeParams(p);
  }
});
