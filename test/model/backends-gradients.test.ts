// The wasm backend's gradients equal the cpu backend's (the reference kernels) for every
// connection kind and stream init: tf.variableGrads of lossFn, parameters moved off their init,
// each backend in its own child process (backends-gradients.child.ts), both run at once.
//
// Per tensor t: ‖g_wasm − g_cpu‖ ≤ REL·‖g_cpu‖ + FLOOR·‖g_cpu, all tensors‖. Measured on 2 cores
// (x86-64, wasm + SIMD): the worst relative error of a tensor carrying at least 1e-3 of the whole
// gradient's norm is 2.5e-5 (hc dynamic rms, dynamic_alpha_scale), most are 1e-7 … 1e-6; losses
// agree to 1e-7 relative. The floor is for tensors whose gradient is mostly round-off: with copy
// init the first module's mixing of mhc and mhc-lite gets an exactly zero gradient (see
// test/train/train-parity.ts), here norms of 1e-10 … 1e-5 with relative errors up to 6; the
// smaller tensors' ‖Δ‖ measured at most 4.2e-9 of the whole gradient's norm.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KindGrads } from './backends-gradients.child.ts';
import { KINDS } from './helpers.ts';

const REL = 1e-4;
const FLOOR = 1e-7;
const LOSS_REL = 1e-6;
const CHILD = fileURLToPath(new URL('./backends-gradients.child.ts', import.meta.url));

function gradientsOn(backend: 'cpu' | 'wasm'): Promise<{ backend: string; kinds: Record<string, KindGrads> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, backend], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${backend} child exited ${code}: ${stderr.slice(-2000)}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1) as string));
    });
  });
}

const norm = (x: readonly number[]) => Math.sqrt(x.reduce((a, v) => a + v * v, 0));

const results = Promise.all([gradientsOn('cpu'), gradientsOn('wasm')]);
// Each test awaits it; a failed child fails them all, not the process.
results.catch(() => {});

test('each child ran on the backend it was asked for', async () => {
  const [cpu, wasm] = await results;
  assert.equal(cpu.backend, 'cpu');
  assert.equal(wasm.backend, 'wasm');
});

for (const { name } of KINDS) {
  test(`${name}: wasm gradients equal cpu gradients within ${REL} of each tensor's norm`, async () => {
    const [cpu, wasm] = await results;
    const c = cpu.kinds[name];
    const w = wasm.kinds[name];
    assert.ok(c && w, `both backends computed ${name}`);
    assert.ok(Math.abs(w.loss - c.loss) <= LOSS_REL * c.loss, `loss: wasm ${w.loss}, cpu ${c.loss}`);
    assert.deepEqual(Object.keys(w.grads).sort(), Object.keys(c.grads).sort());
    const total = norm(Object.values(c.grads).flat());
    // A loss of ≈ ln 16 on perturbed weights has an O(1) gradient; a vanishing one would hide errors.
    assert.ok(total > 0.1, `whole cpu gradient norm ${total}`);
    const failures: string[] = [];
    for (const [pname, g] of Object.entries(c.grads)) {
      const h = w.grads[pname] as number[];
      assert.equal(h.length, g.length, pname);
      assert.ok(h.every(Number.isFinite), `${pname}: non-finite wasm gradient`);
      const diff = norm(g.map((v, i) => v - (h[i] as number)));
      const own = norm(g);
      if (diff > REL * own + FLOOR * total) failures.push(`${pname}: ‖Δ‖ ${diff.toExponential(2)}, ‖g‖ ${own.toExponential(2)} (relative ${(diff / own).toExponential(2)})`);
    }
    assert.deepEqual(failures, []);
  });
}
