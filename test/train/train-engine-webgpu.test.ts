// `hcprobe train --backend webgpu` on the engine (train/engine-runner.ts), end to end through the
// CLI on a WebGPU adapter (lavapipe in CI): every connection kind the engine covers trains on it
// and follows the wasm backend's losses step by step; and a run resumed from a mid-way checkpoint
// ends on the uninterrupted run's metrics, weights and optimizer state, bit for bit. Skipped
// without an adapter, failed without one when HCPROBE_TEST_VULKAN is set (CI).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { readSafetensorsFile } from '../../src/io/safetensors.ts';
import { webgpuEnv } from '../helpers-webgpu.ts';
import { BIN, checkpointFiles, metricsOf, ROOT, tempDir, withoutTiming, writeJson } from './helpers.ts';

const SMALL = { layers: 1, dModel: 16, heads: 2, seqLen: 8, batchSize: 2, steps: 4, warmup: 1, logInterval: 1, evalInterval: 4, checkpointInterval: 4, evalBatches: 1, diagBatch: 2, workers: 0 };

function train(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'train', ...args], { cwd: ROOT, env: webgpuEnv(), encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw r.error;
  return { status: r.status, stderr: r.stderr };
}

/** Whether an adapter answers: a tiny engine run; without one (and outside CI) the tests skip. */
function adapterCheck(): string | false {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcprobe-engine-probe-')); // a fresh clone has no .cache/
  try {
    const r = train(['--config', writeJson(path.join(dir, 'c.json'), { ...SMALL, steps: 1 }), '--out', path.join(dir, 'run'), '--backend', 'webgpu']);
    if (r.status === 0) return false;
    if (/no WebGPU adapter/.test(r.stderr) && !process.env.HCPROBE_TEST_VULKAN) return 'no WebGPU adapter; run scripts/lavapipe.sh and set HCPROBE_TEST_VULKAN';
    assert.fail(`train --backend webgpu failed: ${r.stderr.slice(-2000)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const skip = adapterCheck();

const KINDS: Record<string, object> = {
  residual: { connection: 'residual', bias: true },
  'hc static, n 2': { connection: 'hc', dynamic: false, streams: 2 },
  'hc dynamic, layer norm, stream-embed': { connection: 'hc', hcNorm: 'layer', streams: 3, streamInit: 'stream-embed' },
  'mhc, noise': { connection: 'mhc', streams: 3, streamInit: 'noise' },
  'mhc-lite, lss, 2 micro-batches': { connection: 'mhc-lite', streams: 4, streamInit: 'lss', gradAccum: 2 },
};

test('every connection kind the engine covers trains on it and follows the wasm losses', { skip }, (t) => {
  const dir = tempDir(t);
  for (const [name, kind] of Object.entries(KINDS)) {
    const config = writeJson(path.join(dir, `${name}.json`), { ...SMALL, ...kind });
    const runs = ['webgpu', 'wasm'].map((backend) => {
      const out = path.join(dir, `${name}-${backend}`);
      const r = train(['--config', config, '--out', out, '--backend', backend]);
      assert.equal(r.status, 0, `${name} on ${backend}: ${r.stderr.slice(-1500)}`);
      return out;
    });
    const [engine, wasm] = runs as [string, string];
    const active = JSON.parse(fs.readFileSync(path.join(engine, 'config.json'), 'utf8')).backend.active;
    assert.equal(active, 'webgpu-engine', `${name}: trained on ${active}`);
    const [a, b] = [metricsOf(engine), metricsOf(wasm)];
    assert.equal(a.length, 4, `${name}: a metrics line per step`);
    a.forEach((rec, i) => {
      const want = b[i] as Record<string, number>;
      for (const key of ['loss', 'grad_norm', ...('val_loss' in want ? ['val_loss'] : [])]) {
        const e = Math.abs((rec[key] as number) - (want[key] as number)) / Math.abs(want[key] as number);
        assert.ok(e <= 1e-5, `${name}: step ${rec.step} ${key} ${rec[key]} against wasm's ${want[key]} (relative ${e})`);
      }
      // the HC diagnostics (the engine's own forward on the diagnostic batch) and the LSS record against tfjs' (every
      // number but `dominant`, an index that flips between streams of equal energy, as copy init makes them)
      const flat = (r: Record<string, unknown>) => JSON.stringify({ hc: r.hc, lss: r.lss }, (k, v) => (k === 'dominant' ? undefined : v)).match(/-?\d+(\.\d+)?(e[-+]?\d+)?/g)?.map(Number) ?? [];
      const [x, y] = [flat(rec), flat(want)];
      assert.ok(x.length > 0 && x.length === y.length, `${name}: step ${rec.step} diagnostics have another shape`);
      const worst = x.reduce((m, v, j) => Math.max(m, Math.abs(v - (y[j] as number)) / Math.max(1, Math.abs(y[j] as number))), 0);
      assert.ok(worst <= 1e-4, `${name}: step ${rec.step} diagnostics differ from wasm's by ${worst}`);
    });
  }
});

test('train --backend webgpu resumed from a mid-way checkpoint ends on the uninterrupted run, bit for bit', { skip }, (t) => {
  const dir = tempDir(t);
  const config = writeJson(path.join(dir, 'c.json'), { ...SMALL, connection: 'mhc-lite', streamInit: 'lss', steps: 10, checkpointInterval: 3, logInterval: 2, evalInterval: 5 });
  const whole = path.join(dir, 'whole');
  assert.equal(train(['--config', config, '--out', whole, '--backend', 'webgpu']).status, 0);
  // the state a run killed after step 7 leaves: checkpoints up to step 6, metrics past it
  const cut = path.join(dir, 'cut');
  fs.cpSync(whole, cut, { recursive: true });
  for (const f of checkpointFiles(cut)) if (Number(/\d+/.exec(f)?.[0]) > 6) fs.rmSync(path.join(cut, 'checkpoints', f));
  const resumed = train(['--out', cut, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr.slice(-1500));
  assert.deepEqual(withoutTiming(metricsOf(cut)), withoutTiming(metricsOf(whole)));
  const [fa, fb] = [whole, cut].map((run) => readSafetensorsFile(path.join(run, 'checkpoints', 'step-000010.safetensors')));
  for (const [name, x] of (fa as ReturnType<typeof readSafetensorsFile>).tensors) {
    const y = (fb as ReturnType<typeof readSafetensorsFile>).tensors.get(name);
    assert.ok(y && Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength).equals(Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength)), `${name} differs after the resume`);
  }
});
