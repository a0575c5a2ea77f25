// All n×n permutation matrices in lexicographic order of the permutations, identity first,
// as mHC-lite's convex combination needs (arXiv 2601.05732): its op, its fused program and the
// model's parameter layout (n + n! mixing logits) all enumerate them from here.

/** Permutations of 0..n-1 in lexicographic order. */
export function permutations(n: number): number[][] {
  const out: number[][] = [];
  const walk = (prefix: number[], rest: number[]) => {
    if (rest.length === 0) {
      out.push(prefix);
      return;
    }
    for (let i = 0; i < rest.length; i++) {
      walk([...prefix, rest[i] as number], [...rest.slice(0, i), ...rest.slice(i + 1)]);
    }
  };
  walk([], [...Array(n).keys()]);
  return out;
}

/** Row-major [n!, n*n]: entry (r, i*n + j) is 1 where permutation r sends row i to column j. */
export function permutationMatrices(n: number): Float32Array {
  const perms = permutations(n);
  const out = new Float32Array(perms.length * n * n);
  perms.forEach((p, r) => {
    p.forEach((j, i) => {
      out[r * n * n + i * n + j] = 1;
    });
  });
  return out;
}

export function factorial(n: number): number {
  return n <= 1 ? 1 : n * factorial(n - 1);
}
