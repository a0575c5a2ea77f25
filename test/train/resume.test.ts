// Resume equals uninterrupted (issue 3, §4): a run stopped mid-way and continued from its latest
// checkpoint ends with exactly the same final loss, metrics records (all but tokens_per_s) and
// final weights and optimizer state as the same config run in one go, on the wasm backend.
// The checkpoint interval (7) is not a multiple of the log interval (5), so a resume lands
// between log lines and must carry the partial loss average across.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { readSafetensorsFile } from '../../src/io/safetensors.ts';
import { runTraining } from '../../src/train/session.ts';
import { checkpointFiles, cli, killWhen, metricsOf, ROOT, stepOf, TINY, tempDir, withoutTiming, writeJson } from './helpers.ts';

const STEPS = 100;
const CONFIG = { ...TINY, steps: STEPS, checkpointInterval: 7 };

/** Same tensors, bit for bit, in two safetensors files (model and optimizer state). */
function assertSameTensors(a: string, b: string): void {
  const fa = readSafetensorsFile(a);
  const fb = readSafetensorsFile(b);
  assert.deepEqual([...fa.tensors.keys()].sort(), [...fb.tensors.keys()].sort());
  assert.ok([...fa.tensors.keys()].some((k) => k.startsWith('optimizer.m.')), 'checkpoint holds optimizer state');
  for (const [name, t] of fa.tensors) {
    const u = fb.tensors.get(name);
    assert.ok(u, name);
    assert.deepEqual(u.shape, t.shape, name);
    assert.ok(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength)), `${name} differs`);
  }
  for (const k of ['step', 'adam_t', 'loop_state']) assert.equal(fa.metadata[k], fb.metadata[k], k);
}

const finalLossLine = (stderr: string) => /final train loss \S+, validation loss \S+/.exec(stderr)?.[0];

/** Steps of the complete metrics lines written so far. */
function loggedSteps(out: string): number[] {
  const file = path.join(out, 'metrics.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l).step as number);
}

/**
 * Starts `hcprobe train` and SIGKILLs it once a checkpoint past step 10 exists and a metrics line
 * past that checkpoint has been written, so the resume must also drop metrics the checkpoint does
 * not cover. Resolves to the checkpoint step seen.
 */
function trainAndKill(out: string, config: string): Promise<{ signal: NodeJS.Signals | null; seen: number | undefined }> {
  return killWhen(['train', '--config', config, '--out', out, '--backend', 'wasm'], ROOT, () => {
    const past = checkpointFiles(out).map(stepOf).filter((s) => s > 10);
    if (past.length === 0) return undefined;
    const c = Math.max(...past);
    return loggedSteps(out).some((s) => s > c) ? c : undefined;
  });
}

test('a run killed with SIGKILL and resumed with --resume equals an uninterrupted run', async (t) => {
  const dir = tempDir(t);
  const config = writeJson(path.join(dir, 'config.json'), CONFIG);
  const whole = path.join(dir, 'whole');
  const killed = path.join(dir, 'killed');

  const ref = cli(['train', '--config', config, '--out', whole, '--backend', 'wasm']);
  assert.equal(ref.status, 0, ref.stderr);

  const { signal, seen } = await trainAndKill(killed, config);
  assert.equal(signal, 'SIGKILL', 'the run was killed, not finished');
  assert.ok(seen !== undefined && seen > 10 && seen < STEPS, `killed after the checkpoint of step ${seen}`);
  // Atomic writes: a kill may leave a *.tmp-* file, never a partial checkpoint.
  const left = checkpointFiles(killed);
  assert.ok(left.length > 0 && stepOf(left[left.length - 1] as string) < STEPS, `checkpoints left: ${left.join(', ')}`);
  for (const f of left) {
    const file = readSafetensorsFile(path.join(killed, 'checkpoints', f));
    assert.equal(file.metadata.step, String(stepOf(f)), f);
    assert.ok(file.metadata.train_config, f);
  }

  const resumed = cli(['train', '--out', killed, '--resume', '--backend', 'wasm']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming from .*step-\d{6}\.safetensors/);

  const expected = metricsOf(whole);
  assert.deepEqual(expected.map((r) => r.step), Array.from({ length: STEPS / 5 }, (_, i) => 5 * (i + 1)));
  assert.deepEqual(withoutTiming(metricsOf(killed)), withoutTiming(expected));
  assert.ok(finalLossLine(ref.stderr), ref.stderr);
  assert.equal(finalLossLine(resumed.stderr), finalLossLine(ref.stderr));
  const last = `step-${String(STEPS).padStart(6, '0')}.safetensors`;
  assertSameTensors(path.join(whole, 'checkpoints', last), path.join(killed, 'checkpoints', last));
});

test('in-process: a run stopped after a checkpoint and resumed equals an uninterrupted run', async (t) => {
  const dir = tempDir(t);
  const layers = [{ ...TINY, checkpointInterval: 7, backend: 'wasm' }];
  const base = { layers, force: false, version: 'test', commandLine: [] };
  const whole = path.join(dir, 'whole');
  const cut = path.join(dir, 'cut');

  const a = await runTraining({ ...base, out: whole, resume: false });

  class Stop extends Error {}
  await assert.rejects(
    runTraining({ ...base, out: cut, resume: false }, {
      onCheckpoint: (p) => {
        if (stepOf(p) > 20) throw new Stop(p);
      },
    }),
    Stop,
  );
  // As if killed while writing step 21's checkpoint: metrics run to step 20, checkpoints to 14.
  fs.rmSync(path.join(cut, 'checkpoints', 'step-000021.safetensors'));
  assert.deepEqual(checkpointFiles(cut), ['step-000007.safetensors', 'step-000014.safetensors']);
  assert.equal(metricsOf(cut).at(-1)?.step, 20);

  const b = await runTraining({ ...base, out: cut, resume: true });
  assert.ok(Number.isFinite(a.finalLoss) && Number.isFinite(a.finalValLoss));
  assert.equal(b.finalLoss, a.finalLoss);
  assert.equal(b.finalValLoss, a.finalValLoss);
  assert.deepEqual(withoutTiming(metricsOf(cut)), withoutTiming(metricsOf(whole)));
  assertSameTensors(path.join(whole, 'checkpoints', 'step-000040.safetensors'), path.join(cut, 'checkpoints', 'step-000040.safetensors'));
  assert.ok(fs.existsSync(path.join(cut, 'config.json')));
});
