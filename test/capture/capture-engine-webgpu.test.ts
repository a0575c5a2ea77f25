// `hcprobe capture --backend webgpu` on the WebGPU engine's forward (its hook sites read from the
// activation arena) against `--backend wasm` (tfjs' runWithCache): the same shards, rows and
// columns, every float column within 1e-5 (norm-relative per column), for an mHC-lite run and a
// residual run, with a last batch shorter than --batch (padded on the engine). Run on a WebGPU
// adapter (lavapipe in CI); skipped without one, failed without one when HCPROBE_TEST_VULKAN is set.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as A from 'apache-arrow';
import { concatArrays, floatColumn, readManifest } from '../../src/capture/read.ts';
import { webgpuEnv } from '../helpers-webgpu.ts';
import { BIN, ROOT, tempDir, writeJson } from '../train/helpers.ts';

function hcprobe(args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw r.error;
  return { status: r.status, stderr: r.stderr };
}

/** Every column of every shard as numbers, by shard path and column name. */
function columns(dir: string): Map<string, Float32Array> {
  const m = readManifest(dir);
  const out = new Map<string, Float32Array>();
  for (const s of m.shards) {
    const table = A.tableFromIPC(fs.readFileSync(path.join(dir, s.path)));
    for (const f of table.schema.fields) {
      const parts = table.batches.map((batch) => (f.type instanceof A.FixedSizeList ? floatColumn(batch, f.name) : Float32Array.from(batch.getChild(f.name)?.toArray() as ArrayLike<number>)));
      out.set(`${s.path}:${f.name}`, concatArrays(parts, (n) => new Float32Array(n)));
    }
  }
  return out;
}

const RUNS: Record<string, object> = {
  'mhc-lite, lss': { connection: 'mhc-lite', streamInit: 'lss' },
  residual: { connection: 'residual' },
};

test('capture --backend webgpu (the engine) writes the same values as --backend wasm', (t) => {
  const dir = tempDir(t);
  for (const [name, kind] of Object.entries(RUNS)) {
    const config = writeJson(path.join(dir, `${name}.json`), { layers: 2, dModel: 16, heads: 2, seqLen: 16, batchSize: 2, steps: 3, warmup: 1, logInterval: 3, evalInterval: 3, checkpointInterval: 3, evalBatches: 1, diagBatch: 2, workers: 0, ...kind });
    const run = path.join(dir, `${name}-run`);
    assert.equal(hcprobe(['train', '--config', config, '--out', run, '--backend', 'wasm']).status, 0);
    const sites = name === 'residual' ? 'resid_pre,resid_post,branch_in,branch_out' : 'resid_pre,resid_post,branch_in,branch_out,coeffs';
    const capture = (backend: string) => {
      const out = path.join(dir, `${name}-${backend}`);
      // 11 sequences in batches of 4: the last one holds 3
      const r = hcprobe(['capture', '--run', run, '--out', out, '--tokens', String(11 * 16), '--batch', '4', '--sites', sites, '--backend', backend], backend === 'webgpu' ? webgpuEnv() : process.env);
      return { out, ...r };
    };
    const gpu = capture('webgpu');
    if (gpu.status !== 0 && /no WebGPU adapter/.test(gpu.stderr) && !process.env.HCPROBE_TEST_VULKAN) {
      t.skip('no WebGPU adapter; run scripts/lavapipe.sh and set HCPROBE_TEST_VULKAN');
      return;
    }
    assert.equal(gpu.status, 0, gpu.stderr.slice(-1500));
    assert.match(gpu.stderr, /hcprobe's WebGPU engine/, `${name}: the capture ran on the engine`);
    const cpu = capture('wasm');
    assert.equal(cpu.status, 0, cpu.stderr.slice(-1500));
    const [a, b] = [columns(gpu.out), columns(cpu.out)];
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${name}: the same shards and columns`);
    assert.ok(a.size > 8, `${name}: columns compared`);
    for (const [key, x] of a) {
      const y = b.get(key) as Float32Array;
      assert.equal(x.length, y.length, `${name}: ${key} length`);
      const scale = y.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
      const worst = x.reduce((m, v, i) => Math.max(m, Math.abs(v - (y[i] as number))), 0) / scale;
      assert.ok(worst <= 1e-5, `${name}: ${key} differs by ${worst} (norm-relative)`);
    }
  }
});
