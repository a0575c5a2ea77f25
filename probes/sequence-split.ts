// Train/validation/test split by sequence (docs/metrics.md): whole sequences go to one part, never
// tokens of one sequence to two, so a probe cannot memorise a sequence's context.
import { rngFor } from '../src/engine/random.ts';

export type Part = 'train' | 'val' | 'test';

export interface SequenceSplit {
  /** Part of each row: 0 train, 1 val, 2 test. */
  part: Uint8Array;
  rows: { train: number; val: number; test: number };
  sequences: { train: number; val: number; test: number };
}

/**
 * Shuffles the distinct sequence ids with a seeded generator and cuts them by `fractions`
 * (train, val; the rest is test). The assignment of a sequence depends only on the set of ids
 * and the seed, so every site of one capture splits identically.
 */
export function splitBySequence(seq: Int32Array, fractions: { train: number; val: number }, seed: number, purpose = 'probe-split'): SequenceSplit {
  const ids = [...new Set(seq)].sort((a, b) => a - b);
  const rng = rngFor(seed, purpose);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [ids[i], ids[j]] = [ids[j] as number, ids[i] as number];
  }
  const nTrain = Math.round(ids.length * fractions.train);
  const nVal = Math.round(ids.length * fractions.val);
  const partOf = new Map<number, number>();
  ids.forEach((id, i) => partOf.set(id, i < nTrain ? 0 : i < nTrain + nVal ? 1 : 2));
  const part = new Uint8Array(seq.length);
  const rows = [0, 0, 0];
  seq.forEach((s, r) => {
    const p = partOf.get(s) as number;
    part[r] = p;
    rows[p] = (rows[p] as number) + 1;
  });
  return {
    part,
    rows: { train: rows[0] as number, val: rows[1] as number, test: rows[2] as number },
    sequences: { train: nTrain, val: nVal, test: ids.length - nTrain - nVal },
  };
}
