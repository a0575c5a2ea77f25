// Sequence splits never cut a sequence; control labels are a fixed function of the token type
// with the real task's label space and (close to) its class frequencies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { controlLabels } from '../../probes/control-task.ts';
import { splitBySequence } from '../../probes/sequence-split.ts';
import { rngFromState } from '../../src/engine/random.ts';

test('every sequence lies in one part, in the requested proportions, the same for the same seed', () => {
  const seq = Int32Array.from({ length: 64 * 100 }, (_, r) => 1000 + Math.floor(r / 64));
  const s = splitBySequence(seq, { train: 0.6, val: 0.2 }, 5);
  const partOf = new Map<number, number>();
  seq.forEach((id, r) => {
    const p = s.part[r] as number;
    assert.equal(partOf.get(id) ?? p, p, `sequence ${id} is split`);
    partOf.set(id, p);
  });
  assert.deepEqual(s.sequences, { train: 60, val: 20, test: 20 });
  assert.deepEqual(s.rows, { train: 60 * 64, val: 20 * 64, test: 20 * 64 });
  assert.deepEqual(splitBySequence(seq, { train: 0.6, val: 0.2 }, 5).part, s.part);
  assert.notDeepEqual(splitBySequence(seq, { train: 0.6, val: 0.2 }, 6).part, s.part);
});

test('control labels: one label per token type, −1 kept, class frequencies close to the task’s', () => {
  const rng = rngFromState(1);
  // 200 token types with Zipf frequencies; a real label with frequencies 0.5 / 0.3 / 0.2.
  const n = 50000;
  const zipf = Array.from({ length: 200 }, (_, t) => 1 / (t + 1));
  const total = zipf.reduce((a, b) => a + b, 0);
  const token = Int32Array.from({ length: n }, () => {
    let u = rng.next() * total;
    let t = 0;
    while (u >= (zipf[t] as number) && t < 199) u -= zipf[t++] as number;
    return t;
  });
  const label = Int32Array.from({ length: n }, () => {
    const u = rng.next();
    return u < 0.1 ? -1 : u < 0.55 ? 0 : u < 0.82 ? 1 : 2;
  });
  const control = controlLabels(token, label, 3, 0, 'x');
  const byType = new Map<number, number>();
  control.forEach((c, r) => {
    if (label[r] === -1) return assert.equal(c, -1);
    assert.ok(c >= 0 && c < 3);
    const t = token[r] as number;
    assert.equal(byType.get(t) ?? c, c, `type ${t} has two control labels`);
    byType.set(t, c);
  });
  const freq = (y: Int32Array, k: number) => y.filter((v) => v === k).length / y.filter((v) => v >= 0).length;
  // The most frequent type alone holds ~17% of tokens, so frequencies can match only that closely.
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(freq(control, k) - freq(label, k)) < 0.1, `class ${k}: ${freq(control, k)} vs ${freq(label, k)}`);
  assert.deepEqual(controlLabels(token, label, 3, 0, 'x'), control);
  assert.notDeepEqual(controlLabels(token, label, 3, 0, 'y'), control);
});
