// Solves A X = B for symmetric positive definite A by Cholesky factorisation A = L Lᵀ
// (Golub & Van Loan, Alg. 4.2.1), in float64; A [n, n] and B [n, m] row-major.

export function choleskySolve(A: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j] as number;
    for (let k = 0; k < j; k++) d -= (L[j * n + k] as number) ** 2;
    if (!(d > 0)) throw new Error(`choleskySolve: matrix is not positive definite (pivot ${j} is ${d})`);
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (L[i * n + k] as number) * (L[j * n + k] as number);
      L[i * n + j] = s / ljj;
    }
  }
  const X = Float64Array.from(B);
  for (let c = 0; c < m; c++) {
    // L z = b, then Lᵀ x = z, column by column.
    for (let i = 0; i < n; i++) {
      let s = X[i * m + c] as number;
      for (let k = 0; k < i; k++) s -= (L[i * n + k] as number) * (X[k * m + c] as number);
      X[i * m + c] = s / (L[i * n + i] as number);
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = X[i * m + c] as number;
      for (let k = i + 1; k < n; k++) s -= (L[k * n + i] as number) * (X[k * m + c] as number);
      X[i * m + c] = s / (L[i * n + i] as number);
    }
  }
  return X;
}
