// Sparse latent codes in compressed-row form, and the activation functions that select them
// from dense pre-activations: TopK per row (Gao et al. 2024), BatchTopK over the batch
// (Bussmann et al. 2024) and a threshold θ (BatchTopK at inference; ReLU is θ = 0).

/** Row b's non-zero latents are idx/val[rowPtr[b] .. rowPtr[b+1]). */
export interface SparseCodes {
  rows: number;
  rowPtr: Int32Array;
  idx: Int32Array;
  val: Float32Array;
}

export function nnz(c: SparseCodes): number {
  return c.rowPtr[c.rows] as number;
}

/** pre[b, i] += b_enc[i], in place; pre is row-major [rows, m]. */
export function addBias(pre: Float32Array, bEnc: Float32Array): void {
  const m = bEnc.length;
  for (let o = 0; o < pre.length; o += m) for (let i = 0; i < m; i++) pre[o + i] = (pre[o + i] as number) + (bEnc[i] as number);
}

/**
 * ReLU(TopK(pre)) per row: the k largest pre-activations of each row, keeping only positive
 * ones. `among` restricts the choice to a list of latents (AuxK picks among the dead).
 */
export function topkCodes(pre: Float32Array, rows: number, m: number, k: number, among?: Int32Array): SparseCodes {
  const kk = Math.min(k, among ? among.length : m);
  const rowPtr = new Int32Array(rows + 1);
  const idx = new Int32Array(rows * kk);
  const val = new Float32Array(rows * kk);
  const heap = { v: new Float32Array(kk), i: new Int32Array(kk) };
  let w = 0;
  for (let b = 0; b < rows; b++) {
    // A min-heap of the best kk, seeded with kk zeros (latent −1): the ReLU and the selection in
    // one comparison per candidate, a branch that is almost never taken once the heap fills.
    heap.v.fill(0);
    heap.i.fill(-1);
    const o = b * m;
    if (among) {
      for (let t = 0; t < among.length; t++) {
        const i = among[t] as number;
        const v = pre[o + i] as number;
        if (v > (heap.v[0] as number)) siftDown(heap.v, heap.i, kk, v, i);
      }
    } else {
      for (let i = 0; i < m; i++) {
        const v = pre[o + i] as number;
        if (v > (heap.v[0] as number)) siftDown(heap.v, heap.i, kk, v, i);
      }
    }
    for (let j = 0; j < kk; j++) {
      if ((heap.i[j] as number) < 0) continue;
      idx[w] = heap.i[j] as number;
      val[w++] = heap.v[j] as number;
    }
    rowPtr[b + 1] = w;
  }
  return { rows, rowPtr, idx, val };
}

/** Replaces the root of a min-heap by (v, i) and restores the heap order. */
function siftDown(hv: Float32Array, hi: Int32Array, n: number, v: number, i: number): void {
  let c = 0;
  for (;;) {
    let l = 2 * c + 1;
    if (l >= n) break;
    if (l + 1 < n && (hv[l + 1] as number) < (hv[l] as number)) l++;
    if ((hv[l] as number) >= v) break;
    hv[c] = hv[l] as number;
    hi[c] = hi[l] as number;
    c = l;
  }
  hv[c] = v;
  hi[c] = i;
}

/** JumpReLU-style selection: pre-activations above θ ≥ 0 (θ = 0 is ReLU). */
export function thresholdCodes(pre: Float32Array, rows: number, m: number, theta: number): SparseCodes {
  let count = 0;
  for (let t = 0; t < pre.length; t++) if ((pre[t] as number) > theta) count++;
  const rowPtr = new Int32Array(rows + 1);
  const idx = new Int32Array(count);
  const val = new Float32Array(count);
  let w = 0;
  for (let b = 0; b < rows; b++) {
    const o = b * m;
    for (let i = 0; i < m; i++) {
      const v = pre[o + i] as number;
      if (v > theta) {
        idx[w] = i;
        val[w++] = v;
      }
    }
    rowPtr[b + 1] = w;
  }
  return { rows, rowPtr, idx, val };
}

/** JumpReLU: pre-activations above their latent's own θ_i > 0 (Rajamanoharan et al. 2024). */
export function jumpCodes(pre: Float32Array, rows: number, m: number, theta: Float32Array): SparseCodes {
  const rowPtr = new Int32Array(rows + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let b = 0; b < rows; b++) {
    const o = b * m;
    for (let i = 0; i < m; i++) {
      const v = pre[o + i] as number;
      if (v > (theta[i] as number) && v > 0) {
        idx.push(i);
        val.push(v);
      }
    }
    rowPtr[b + 1] = idx.length;
  }
  return { rows, rowPtr, idx: Int32Array.from(idx), val: Float32Array.from(val) };
}

/**
 * BatchTopK: the rows·k largest positive pre-activations of the whole batch, so tokens share
 * one budget. Returns the codes and the smallest kept value, from which θ is estimated.
 */
export function batchTopkCodes(pre: Float32Array, rows: number, m: number, k: number): { codes: SparseCodes; minKept: number } {
  const budget = rows * k;
  let count = 0;
  for (let t = 0; t < pre.length; t++) if ((pre[t] as number) > 0) count++;
  if (count <= budget) {
    const codes = thresholdCodes(pre, rows, m, 0);
    let min = Number.POSITIVE_INFINITY;
    for (const v of codes.val) if (v < min) min = v;
    return { codes, minKept: Number.isFinite(min) ? min : 0 };
  }
  const pos = new Float32Array(count);
  let w = 0;
  for (let t = 0; t < pre.length; t++) if ((pre[t] as number) > 0) pos[w++] = pre[t] as number;
  const kth = selectKthLargest(pos, budget);
  // Values equal to the k-th are kept: ties have probability zero for real inputs.
  return { codes: thresholdCodes(pre, rows, m, floatBelow(kth)), minKept: kth };
}

/** The largest float32 below x > 0, so that `> result` keeps x itself. */
function floatBelow(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] = (u[0] as number) - 1;
  return f[0] as number;
}

/** The k-th largest value (1-based) by quickselect; reorders `a`. */
export function selectKthLargest(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) > pivot) i++;
      while ((a[j] as number) < pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i++] = a[j] as number;
        a[j--] = t;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target] as number;
  }
  return a[target] as number;
}
