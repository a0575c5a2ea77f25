// The SAE files `hcprobe sae` writes are in SAELens' layout, checked from Python: for each kind
// (topk → SAELens topk, batchtopk, jumprelu and matryoshka → jumprelu, relu → standard), test/fixtures/check_sae_files.py
// reads sae.safetensors by hand and cfg.json with torch and numpy, checks names, shapes and config
// fields, and reconstructs held-in activations with SAELens' encode and decode, which must equal
// hcprobe's own reconstruction (SaeRunner on the weights read back by readSae) within 1e-4 of
// each row's norm. Needs Debian's /usr/bin/python3 with torch and numpy; skipped without them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { trainChunks } from '../../sae/activations.ts';
import { SaeRunner } from '../../sae/apply.ts';
import { readSae } from '../../sae/save.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { readManifest } from '../../src/capture/read.ts';
import { cliOk, ROOT, smallCapture, tempDir } from './helpers.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(ROOT, 'test', 'fixtures', 'check_sae_files.py');
const ROWS = 64;

function pythonMissing(): string | false {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} is not installed`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  return r.status === 0 ? false : `${PYTHON} cannot import torch and numpy (apt-get install python3-torch python3-numpy): ${r.stderr.trim().split('\n').at(-1)}`;
}

const KINDS = [
  { kind: 'topk', architecture: 'topk' },
  { kind: 'batchtopk', architecture: 'jumprelu' },
  { kind: 'relu', architecture: 'standard' },
  { kind: 'jumprelu', architecture: 'jumprelu' },
  { kind: 'matryoshka', architecture: 'jumprelu' },
] as const;

test('hcprobe sae writes SAELens-layout files that PyTorch reconstructs as hcprobe does', { skip: pythonMissing() }, async (t) => {
  const dir = tempDir(t);
  const acts = await smallCapture(dir);
  await initBackend('wasm');
  const m = readManifest(acts);
  // The first training rows of the concat input [H_0 … H_3] after layer 1's MLP.
  const chunks = trainChunks(acts, m, { site: 'resid_post', layer: 1, module: 'mlp' }, { mode: 'concat' });
  const first = (await chunks.next()).value as Float32Array;
  await chunks.return(undefined);
  const dIn = m.n_streams * m.d_model;
  assert.ok(first.length >= ROWS * dIn, `a chunk of ${first.length / dIn} rows`);
  const x = first.slice(0, ROWS * dIn);

  for (const { kind, architecture } of KINDS) {
    await t.test(`${kind} → SAELens ${architecture}`, () => {
      const out = path.join(dir, `sae-${kind}`);
      cliOk(['sae', '--acts', acts, '--out', out, '--mode', 'concat', '--layers', '1', '--kind', kind, '--k', '8', '--expansion', '2', '--tokens', '2048', '--batch', '256', '--eval-tokens', '256', '--features', '4', '--backend', 'wasm']);
      const folder = path.join(out, 'concat', 'layer=1');
      const runner = new SaeRunner(readSae(folder));
      const { xhat } = runner.reconstruct(x, ROWS);
      runner.dispose();
      const recon = path.join(dir, `${kind}-reconstruction.json`);
      fs.writeFileSync(recon, JSON.stringify({ rows: ROWS, d_in: dIn, x: Array.from(x), x_hat: Array.from(xhat) }));

      const r = spawnSync(PYTHON, [SCRIPT, folder, '--reconstruction', recon], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, `check_sae_files.py: ${r.stderr}`);
      const report = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { architecture: string; d_in: number; d_sae: number; rows: number; max_row_rel_err: number; mean_l0: number; fvu: number };
      assert.equal(report.architecture, architecture);
      assert.deepEqual([report.d_in, report.d_sae, report.rows], [dIn, 2 * dIn, ROWS]);
      assert.ok(report.max_row_rel_err <= 1e-4, `worst row differs by ${report.max_row_rel_err}`);
      // A trained SAE, not an empty one: latents fire and the reconstruction explains variance.
      assert.ok(report.mean_l0 > 0 && (kind !== 'topk' || report.mean_l0 <= 8), `L0 ${report.mean_l0}`);
      assert.ok(report.fvu < 0.9, `FVU ${report.fvu}`);
    });
  }
});
