// Hewitt & Liang (2019) control task: every token type gets one fixed random label from the
// real label's space, so a probe can score only by memorising types. Types are assigned in a
// seeded random order, each to a class drawn in proportion to how many tokens that class still
// lacks, so the control classes keep the real task's token frequencies (closely, not exactly).
import { rngFor } from '../src/engine/random.ts';

/** Control labels for rows with a real label (others stay −1). */
export function controlLabels(token: Int32Array, label: Int32Array, nClasses: number, seed: number, name: string): Int32Array {
  const target = new Float64Array(nClasses);
  const typeCount = new Map<number, number>();
  for (let r = 0; r < token.length; r++) {
    const y = label[r] as number;
    if (y < 0) continue;
    target[y] = (target[y] as number) + 1;
    const t = token[r] as number;
    typeCount.set(t, (typeCount.get(t) ?? 0) + 1);
  }
  const rng = rngFor(seed, `control:${name}`);
  const types = [...typeCount.keys()].sort((a, b) => a - b);
  for (let i = types.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [types[i], types[j]] = [types[j] as number, types[i] as number];
  }
  const assigned = new Map<number, number>();
  const deficit = Float64Array.from(target);
  for (const t of types) {
    // A class that is already full keeps a small chance, so the assignment stays random.
    const weights = Array.from(deficit, (d, k) => Math.max(d, 0) + 1e-3 * (target[k] as number));
    const total = weights.reduce((a, b) => a + b, 0);
    let u = rng.next() * total;
    let k = 0;
    while (k < nClasses - 1 && u >= (weights[k] as number)) u -= weights[k++] as number;
    assigned.set(t, k);
    deficit[k] = (deficit[k] as number) - (typeCount.get(t) as number);
  }
  return Int32Array.from(label, (y, r) => (y < 0 ? -1 : (assigned.get(token[r] as number) as number)));
}
