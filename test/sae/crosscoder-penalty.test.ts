// The crosscoder-style penalty on concat SAEs (--decoder-penalty stream-norms): with planted
// features that each live in one stream, every recovered latent puts ≥ 0.9 of its decoder norm
// Σ_s ‖W_dec[i, block s]‖ in its feature's stream.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { rngFor } from '../../src/engine/random.ts';
import { saeTrainConfig } from '../../sae/config.ts';
import type { BatchSource } from '../../sae/train.ts';
import { trainSae } from '../../sae/train.ts';
import { knownDictionary } from './helpers.ts';

before(async () => {
  await initBackend('wasm');
});

test('stream-norms penalty: latents recovering stream-k features keep ≥ 0.9 of their decoder norm in stream k', async () => {
  const n = 4;
  const dd = 8;
  const perStream = 6;
  const width = n * dd;
  // Feature j lives in stream ⌊j / 6⌋: its direction is a unit vector of that stream's block.
  const local = knownDictionary(dd, n * perStream, 41);
  const dict = new Float32Array(n * perStream * width);
  for (let j = 0; j < n * perStream; j++) {
    const s = Math.floor(j / perStream);
    for (let t = 0; t < dd; t++) dict[j * width + s * dd + t] = local[j * dd + t] as number;
  }
  const rng = rngFor(42, 'crosscoder');
  const source: BatchSource = {
    next: async () => {
      const rows = 512;
      const x = new Float32Array(rows * width);
      for (let b = 0; b < rows; b++) {
        for (let a = 0; a < 3; a++) {
          const j = rng.int(n * perStream);
          const c = 0.5 + rng.next();
          for (let t = 0; t < width; t++) x[b * width + t] = (x[b * width + t] as number) + c * (dict[j * width + t] as number);
        }
        for (let t = 0; t < width; t++) x[b * width + t] = (x[b * width + t] as number) + 0.01 * rng.normal();
      }
      return x;
    },
  };
  const cfg = saeTrainConfig({ act: { kind: 'relu', l1: 1, streamBlocks: n }, dIn: width, dSae: 128, tokens: 250_000, batch: 512, seed: 43, lr: 3e-3 });
  const r = await trainSae(cfg, source);
  const w = r.params.wDec;
  for (let j = 0; j < n * perStream; j++) {
    let best = -1;
    let bestCos = -1;
    for (let i = 0; i < cfg.dSae; i++) {
      let dot = 0;
      for (let t = 0; t < width; t++) dot += (w[i * width + t] as number) * (dict[j * width + t] as number);
      if (dot > bestCos) [best, bestCos] = [i, dot];
    }
    assert.ok(bestCos >= 0.9, `feature ${j}: best cosine ${bestCos}`);
    const norms = Array.from({ length: n }, (_, s) => Math.hypot(...Array.from(w.subarray(best * width + s * dd, best * width + (s + 1) * dd))));
    const share = (norms[Math.floor(j / perStream)] as number) / norms.reduce((a, b) => a + b, 0);
    assert.ok(share >= 0.9, `feature ${j} (stream ${Math.floor(j / perStream)}): latent ${best} keeps ${share} of its decoder norm there (${norms})`);
  }
});
