// Seeded random numbers computed in JavaScript, so that initial weights and data are
// bit-identical on every backend (tf.random* differs between backends).

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** The generator's state, to save in a checkpoint and restore with `rngFromState`. */
  state(): number;
}

/** mulberry32: a 32-bit state generator, small and good enough for init and sampling. */
export function rngFromState(seed: number): Rng {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    normal() {
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    int(n: number) {
      return Math.floor(next() * n);
    },
    state() {
      return s;
    },
  };
}

/** A generator for one named purpose, derived from a run seed so that streams do not overlap. */
export function rngFor(seed: number, purpose: string): Rng {
  let h = 2166136261 ^ (seed >>> 0);
  for (let i = 0; i < purpose.length; i++) h = Math.imul(h ^ purpose.charCodeAt(i), 16777619);
  return rngFromState(h >>> 0);
}
