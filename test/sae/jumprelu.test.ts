// JumpReLU SAEs (Rajamanoharan et al. 2024): the threshold gradient is the derivative of the
// kernel-smoothed objective (checked by finite differences), and training recovers a planted
// dictionary with L0 near the planted number of active features.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { rngFor } from '../../src/engine/random.ts';
import { saeTrainConfig } from '../../sae/config.ts';
import { jumpReluGrads } from '../../sae/jumprelu-grads.ts';
import { initSaeParams } from '../../sae/sae-params.ts';
import { totalVariance } from '../../sae/train-step.ts';
import { trainSae } from '../../sae/train.ts';
import { bestCosines, knownDictionary, mixSource, type SparseMix } from './helpers.ts';

before(async () => {
  await initBackend('wasm');
});

test('∂L/∂θ equals a finite difference of the smoothed objective (rectangle kernel, bandwidth ε)', () => {
  const d = 4;
  const m = 3;
  const rows = 96;
  const eps = 0.6;
  const lambda = 0.3;
  const rng = rngFor(21, 'jump-fd');
  const act = { kind: 'jumprelu', l0: lambda, bandwidth: eps } as const;
  const p = initSaeParams(d, m, act, 21);
  for (let i = 0; i < p.bEnc.length; i++) p.bEnc[i] = 0.3 * rng.normal();
  for (let i = 0; i < p.bDec.length; i++) p.bDec[i] = 0.1 * rng.normal();
  (p.thresholds as Float32Array).set([0.5, 0.8, 1.1]);
  const x = Float32Array.from({ length: rows * d }, () => rng.normal());
  const variance = totalVariance(x, rows, d);
  const g = { wEncT: new Float32Array(m * d), wDec: new Float32Array(m * d), bEnc: new Float32Array(m), bDec: new Float32Array(d), logTheta: new Float32Array(m) };
  jumpReluGrads(p, x, rows, variance, lambda, eps, g);
  // The hard forward in float64: z, f and ∂L_rec/∂f = 2(x̂ − x)·W_dec,i / Σ‖x − x̄‖².
  const theta = Array.from(p.thresholds as Float32Array);
  const z = new Float64Array(rows * m);
  const c = new Float64Array(rows * m);
  for (let b = 0; b < rows; b++) {
    const xhat = Array.from(p.bDec);
    for (let i = 0; i < m; i++) {
      let s = p.bEnc[i] as number;
      for (let t = 0; t < d; t++) s += (p.wEncT[i * d + t] as number) * ((x[b * d + t] as number) - (p.bDec[t] as number));
      z[b * m + i] = s;
      if (s > (theta[i] as number)) for (let t = 0; t < d; t++) xhat[t] = (xhat[t] as number) + s * (p.wDec[i * d + t] as number);
    }
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += 2 * ((xhat[t] as number) - (x[b * d + t] as number)) * (p.wDec[i * d + t] as number);
      c[b * m + i] = s / variance;
    }
  }
  // Smoothed jump: z for θ ≤ z − ε/2, 0 for θ ≥ z + ε/2, z − (θ² − (z − ε/2)²)/(2ε) between; H smoothed to a ramp.
  const smoothJump = (zz: number, th: number) => (th <= zz - eps / 2 ? zz : th >= zz + eps / 2 ? 0 : zz - (th * th - (zz - eps / 2) ** 2) / (2 * eps));
  const ramp = (zz: number, th: number) => Math.min(1, Math.max(0, (zz - th) / eps + 0.5));
  // The reconstruction term is linear in f at the current point: that is what a straight-through estimator differentiates.
  const smoothed = (i: number, th: number) => {
    let s = 0;
    for (let b = 0; b < rows; b++) s += (c[b * m + i] as number) * smoothJump(z[b * m + i] as number, th) + (lambda / variance) * ramp(z[b * m + i] as number, th);
    return s;
  };
  const h = 1e-5;
  for (let i = 0; i < m; i++) {
    const th = theta[i] as number;
    const fd = (smoothed(i, th + h) - smoothed(i, th - h)) / (2 * h);
    const analytic = (g.logTheta[i] as number) / th; // ∂L/∂log θ = θ ∂L/∂θ
    let inWindow = 0;
    for (let b = 0; b < rows; b++) if (Math.abs((z[b * m + i] as number) - th) <= eps / 2) inWindow++;
    assert.ok(inWindow >= 5, `latent ${i}: ${inWindow} pre-activations within ε/2 of θ`);
    assert.ok(Math.abs(fd) > 1e-4, `latent ${i}: the smoothed objective depends on θ (${fd})`);
    assert.ok(Math.abs(analytic - fd) <= 1e-3 * Math.abs(fd) + 1e-6, `latent ${i}: STE ${analytic} vs finite difference ${fd}`);
  }
});

test('a JumpReLU SAE recovers a planted dictionary; its thresholds move and L0 follows λ', async () => {
  const d = 32;
  const mix: SparseMix = { dict: knownDictionary(d, 64, 1), d, active: 3, noise: 0.01 };
  // lr 5e-3: the default rule's 1.6e-3 moves log θ too slowly for a 500-step test.
  const cfg = saeTrainConfig({ act: { kind: 'jumprelu', l0: 0.5, bandwidth: 0.5 }, dIn: d, dSae: 256, tokens: 250_000, batch: 512, seed: 3, lr: 5e-3 });
  const r = await trainSae(cfg, mixSource(mix, cfg.batch, 4));
  const cos = bestCosines(mix.dict, r.params.wDec, d);
  const recovered = cos.filter((x) => x >= 0.9).length / cos.length;
  assert.ok(recovered >= 0.85, `recovered ${recovered}`);
  assert.ok(r.last.l0 > 2 && r.last.l0 < 8, `L0 ${r.last.l0} for 3 planted features per token`);
  const th = r.params.thresholds as Float32Array;
  assert.ok(Math.max(...th) - Math.min(...th) > 0.2, 'thresholds are trained per latent');
});
