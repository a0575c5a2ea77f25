// Shared by the engine's webgpu child scripts (run by the *-webgpu.test.ts beside them): the
// engine's own device, tfjs on the cpu backend as the reference, seeded inputs, the norm-relative
// error, and the one JSON line the parent reads ({"skip": reason} when Dawn offers no adapter).
import { initBackend } from '../../../src/engine/backend.ts';
import { requestEngineDevice } from '../../../src/engine/program/engine-device.ts';
import { rngFor } from '../../../src/engine/random.ts';
import { tf } from '../../../src/engine/tf.ts';

export async function startChild(seedLabel: string) {
  const engine = await requestEngineDevice().catch((e: Error) => e);
  if (!engine || engine instanceof Error) {
    process.stdout.write(`${JSON.stringify({ skip: engine ? engine.message : 'Dawn offers no adapter' })}\n`);
    process.exit(0);
  }
  await initBackend('cpu');
  const { device } = engine;
  const errors: string[] = [];
  device.addEventListener('uncapturederror', (e) => errors.push((e as GPUUncapturedErrorEvent).error.message));
  const rng = rngFor(11, seedLabel);
  const randn = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  /** Prints the results with the device's validation errors and exits. */
  const finish = async (out: Record<string, unknown>): Promise<never> => {
    await device.queue.onSubmittedWorkDone();
    const line = JSON.stringify({ device: engine.description, ...out, errors });
    device.destroy();
    process.stdout.write(`${line}\n`);
    process.exit(0);
  };
  return { device, rng, randn, finish };
}

/** Rows × cols at `base` with row stride `ld`, as a packed tfjs matrix. */
export function gather(x: Float32Array, base: number, rows: number, cols: number, ld: number) {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) out.set(x.subarray(base + r * ld, base + r * ld + cols), r * cols);
  return tf.tensor2d(out, [rows, cols]);
}

/** max |got − want| / max |want|: fp32 sums that cancel make a per-element relative error meaningless. */
export function normRel(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`normRel: ${got.length} values against ${want.length}`);
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs((got[i] as number) - (want[i] as number)));
    ref = Math.max(ref, Math.abs(want[i] as number));
  }
  return ref === 0 ? diff : diff / ref;
}

/** normRel per named output. */
export function errorsByName(names: readonly string[], got: readonly ArrayLike<number>[], want: readonly ArrayLike<number>[]): Record<string, number> {
  return Object.fromEntries(want.map((w, i) => [names[i] as string, normRel(got[i] as ArrayLike<number>, w)]));
}
