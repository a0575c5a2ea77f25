// Metrics of one residual mixing matrix A_r (n×n, row-major, A[s][t] mixes stream s into t):
// distance from identity, off-diagonal mass, and the mHC paper's Amax forward/backward gains.

export type Matrix = number[][];

export function identityDistance(a: Matrix): number {
  const n = a.length;
  let sq = 0;
  a.forEach((row, i) => row.forEach((x, j) => {
    const d = x - (i === j ? 1 : 0);
    sq += d * d;
  }));
  return Math.sqrt(sq) / Math.sqrt(n);
}

/** 1 − tr(A)/n: zero for the identity, one when nothing stays in its own stream. */
export function offDiagonalMass(a: Matrix): number {
  const n = a.length;
  let tr = 0;
  a.forEach((row, i) => {
    tr += row[i] as number;
  });
  return 1 - tr / n;
}

/** Forward gain max_i |Σ_j P_ij| and backward gain max_j |Σ_i P_ij|. */
export function amaxGains(p: Matrix): { forward: number; backward: number } {
  const n = p.length;
  let forward = 0;
  let backward = 0;
  for (let i = 0; i < n; i++) forward = Math.max(forward, Math.abs((p[i] as number[]).reduce((s, x) => s + x, 0)));
  for (let j = 0; j < n; j++) backward = Math.max(backward, Math.abs(p.reduce((s, row) => s + (row[j] as number), 0)));
  return { forward, backward };
}

export function matmul(a: Matrix, b: Matrix): Matrix {
  return a.map((row) => (b[0] as number[]).map((_, j) => row.reduce((s, x, k) => s + x * ((b[k] as number[])[j] as number), 0)));
}

export function eye(n: number): Matrix {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
}
