// Our WebAssembly kernels (SIMD), run in tfjs-wasm's own memory: arguments are byte addresses in
// its heap and sizes, results are written into tensors tfjs has allocated (tfjs-kernels.ts).
//   mixNN: C[r] = A[r] · B[r], A addressed by strides (so Aᵀ costs nothing), B and C contiguous,
//          vectorised along B's rows (columns a multiple of 4). Batched products of many tiny
//          matrices against long rows, a hyper-connection's per-token mixing αᵀH: tfjs-wasm sends
//          batched products to a scalar fallback that ran these at ~0.6 GFLOP/s.
//   mixNT: C[r] = A[r] · B[r]ᵀ, A and B contiguous, vectorised along the shared axis (a multiple of 4).
//   sumMiddle: out[o, :] = Σ_m x[o, m, :] (inner a multiple of 4); tfjs-wasm transposes the
//          reduced axes to the end first.
//   copyRuns: `count` runs of `run` bytes from strided source to strided destination, for slices,
//          splits and concatenations (tfjs-wasm copies narrow runs one JavaScript call each).
import { assemble, type WasmFunction, w } from './assemble.ts';

// MixNN(a, b, c, batch, m, k, n, rsA, csA, bsA): strides of A in elements.
const NN = { a: 0, b: 1, c: 2, batch: 3, m: 4, k: 5, n: 6, rsA: 7, csA: 8, bsA: 9, bt: 10, i: 11, jb: 12, p: 13, aRow: 14, aP: 15, bP: 16, bBase: 17, cRow: 18, nb: 19, knb: 20, acc: 21 };
const mixNN: WasmFunction = {
  name: 'mixNN',
  params: 10,
  i32Locals: 11,
  v128Locals: 1,
  body: [
    ...w.set(NN.nb, w.shl2(w.get(NN.n))),
    ...w.set(NN.knb, w.mul(w.get(NN.k), w.get(NN.nb))),
    ...w.set(NN.rsA, w.shl2(w.get(NN.rsA))),
    ...w.set(NN.csA, w.shl2(w.get(NN.csA))),
    ...w.set(NN.bsA, w.shl2(w.get(NN.bsA))),
    ...w.set(NN.cRow, w.get(NN.c)),
    ...w.range(NN.bt, w.get(NN.batch), w.i32(1),
      w.set(NN.bBase, w.add(w.get(NN.b), w.mul(w.get(NN.bt), w.get(NN.knb)))),
      w.range(NN.i, w.get(NN.m), w.i32(1),
        w.set(NN.aRow, w.add(w.add(w.get(NN.a), w.mul(w.get(NN.bt), w.get(NN.bsA))), w.mul(w.get(NN.i), w.get(NN.rsA)))),
        w.range(NN.jb, w.get(NN.nb), w.i32(16),
          w.set(NN.acc, w.v128Zero()),
          w.set(NN.aP, w.get(NN.aRow)),
          w.set(NN.bP, w.add(w.get(NN.bBase), w.get(NN.jb))),
          w.range(NN.p, w.get(NN.k), w.i32(1),
            w.set(NN.acc, w.f32x4Add(w.get(NN.acc), w.f32x4Mul(w.f32x4Splat(w.f32Load(w.get(NN.aP))), w.v128Load(w.get(NN.bP))))),
            w.inc(NN.aP, w.get(NN.csA)),
            w.inc(NN.bP, w.get(NN.nb)),
          ),
          w.v128Store(w.add(w.get(NN.cRow), w.get(NN.jb)), w.get(NN.acc)),
        ),
        w.inc(NN.cRow, w.get(NN.nb)),
      ),
    ),
  ],
};

// gemmNN: mixNN's product and arguments, for m a multiple of 4 and n of 8: each 4 × 8 block of C
// is held in eight accumulators while p runs over k (one splat of A per row and two loads of B
// per step for 32 multiply-adds, against mixNN's 1 and 1 for 4).
const GM = { a: 0, b: 1, c: 2, batch: 3, m: 4, k: 5, n: 6, rsA: 7, csA: 8, bsA: 9, bt: 10, i: 11, jb: 12, p: 13, aP: 14, bP: 15, aRow: 16, bBase: 17, cBase: 18, nb: 19, rs2: 20, rs3: 21, cP: 22, b0: 23, b1: 24, av: 25, acc: 26 };
const accOf = (r: number, v: number) => GM.acc + 2 * r + v;
const gemmNN: WasmFunction = {
  name: 'gemmNN',
  params: 10,
  i32Locals: 13,
  v128Locals: 11,
  body: [
    ...w.set(GM.nb, w.shl2(w.get(GM.n))),
    ...w.set(GM.rsA, w.shl2(w.get(GM.rsA))),
    ...w.set(GM.csA, w.shl2(w.get(GM.csA))),
    ...w.set(GM.bsA, w.shl2(w.get(GM.bsA))),
    ...w.set(GM.rs2, w.add(w.get(GM.rsA), w.get(GM.rsA))),
    ...w.set(GM.rs3, w.add(w.get(GM.rs2), w.get(GM.rsA))),
    ...w.range(GM.bt, w.get(GM.batch), w.i32(1),
      w.set(GM.bBase, w.add(w.get(GM.b), w.mul(w.get(GM.bt), w.mul(w.get(GM.k), w.get(GM.nb))))),
      w.set(GM.cBase, w.add(w.get(GM.c), w.mul(w.get(GM.bt), w.mul(w.get(GM.m), w.get(GM.nb))))),
      w.range(GM.i, w.get(GM.m), w.i32(4),
        w.set(GM.aRow, w.add(w.add(w.get(GM.a), w.mul(w.get(GM.bt), w.get(GM.bsA))), w.mul(w.get(GM.i), w.get(GM.rsA)))),
        w.range(GM.jb, w.get(GM.nb), w.i32(32),
          ...[0, 1, 2, 3].flatMap((r) => [w.set(accOf(r, 0), w.v128Zero()), w.set(accOf(r, 1), w.v128Zero())]),
          w.set(GM.aP, w.get(GM.aRow)),
          w.set(GM.bP, w.add(w.get(GM.bBase), w.get(GM.jb))),
          w.range(GM.p, w.get(GM.k), w.i32(1),
            w.set(GM.b0, w.v128Load(w.get(GM.bP))),
            w.set(GM.b1, w.v128Load(w.get(GM.bP), 16)),
            ...[0, 1, 2, 3].flatMap((r) => {
              const addr = r === 0 ? w.get(GM.aP) : w.add(w.get(GM.aP), w.get(r === 1 ? GM.rsA : r === 2 ? GM.rs2 : GM.rs3));
              return [
                w.set(GM.av, w.f32x4Splat(w.f32Load(addr))),
                w.set(accOf(r, 0), w.f32x4Add(w.get(accOf(r, 0)), w.f32x4Mul(w.get(GM.av), w.get(GM.b0)))),
                w.set(accOf(r, 1), w.f32x4Add(w.get(accOf(r, 1)), w.f32x4Mul(w.get(GM.av), w.get(GM.b1)))),
              ];
            }),
            w.inc(GM.aP, w.get(GM.csA)),
            w.inc(GM.bP, w.get(GM.nb)),
          ),
          w.set(GM.cP, w.add(w.add(w.get(GM.cBase), w.mul(w.get(GM.i), w.get(GM.nb))), w.get(GM.jb))),
          ...[0, 1, 2, 3].flatMap((r) => [
            w.v128Store(w.get(GM.cP), w.get(accOf(r, 0))),
            w.v128Store(w.get(GM.cP), w.get(accOf(r, 1)), 16),
            w.inc(GM.cP, w.get(GM.nb)),
          ]),
        ),
      ),
    ),
  ],
};

// MixNT(a, b, c, batch, m, n, k).
const NT = { a: 0, b: 1, c: 2, batch: 3, m: 4, n: 5, k: 6, bt: 7, i: 8, j: 9, pb: 10, aRow: 11, bRow: 12, cP: 13, kb: 14, bBase: 15, acc: 16 };
const mixNT: WasmFunction = {
  name: 'mixNT',
  params: 7,
  i32Locals: 9,
  v128Locals: 1,
  body: [
    ...w.set(NT.kb, w.shl2(w.get(NT.k))),
    ...w.set(NT.cP, w.get(NT.c)),
    ...w.set(NT.aRow, w.get(NT.a)),
    ...w.range(NT.bt, w.get(NT.batch), w.i32(1),
      w.set(NT.bBase, w.add(w.get(NT.b), w.mul(w.mul(w.get(NT.bt), w.get(NT.n)), w.get(NT.kb)))),
      w.range(NT.i, w.get(NT.m), w.i32(1),
        w.set(NT.bRow, w.get(NT.bBase)),
        w.range(NT.j, w.get(NT.n), w.i32(1),
          w.set(NT.acc, w.v128Zero()),
          w.range(NT.pb, w.get(NT.kb), w.i32(16),
            w.set(NT.acc, w.f32x4Add(w.get(NT.acc), w.f32x4Mul(w.v128Load(w.add(w.get(NT.aRow), w.get(NT.pb))), w.v128Load(w.add(w.get(NT.bRow), w.get(NT.pb)))))),
          ),
          w.f32Store(w.get(NT.cP), w.lanesSum(NT.acc)),
          w.inc(NT.cP, w.i32(4)),
          w.inc(NT.bRow, w.get(NT.kb)),
        ),
        w.inc(NT.aRow, w.get(NT.kb)),
      ),
    ),
  ],
};

// sumMiddle(x, out, outer, mid, inner)
const SM = { x: 0, out: 1, outer: 2, mid: 3, inner: 4, o: 5, jb: 6, m: 7, xp: 8, xo: 9, op: 10, ib: 11, mb: 12, acc: 13 };
const sumMiddle: WasmFunction = {
  name: 'sumMiddle',
  params: 5,
  i32Locals: 8,
  v128Locals: 1,
  body: [
    ...w.set(SM.ib, w.shl2(w.get(SM.inner))),
    ...w.set(SM.mb, w.mul(w.get(SM.mid), w.get(SM.ib))),
    ...w.set(SM.xo, w.get(SM.x)),
    ...w.set(SM.op, w.get(SM.out)),
    ...w.range(SM.o, w.get(SM.outer), w.i32(1),
      w.range(SM.jb, w.get(SM.ib), w.i32(16),
        w.set(SM.acc, w.v128Zero()),
        w.set(SM.xp, w.add(w.get(SM.xo), w.get(SM.jb))),
        w.range(SM.m, w.get(SM.mid), w.i32(1),
          w.set(SM.acc, w.f32x4Add(w.get(SM.acc), w.v128Load(w.get(SM.xp)))),
          w.inc(SM.xp, w.get(SM.ib)),
        ),
        w.v128Store(w.add(w.get(SM.op), w.get(SM.jb)), w.get(SM.acc)),
      ),
      w.inc(SM.xo, w.get(SM.mb)),
      w.inc(SM.op, w.get(SM.ib)),
    ),
  ],
};

// copyRuns(src, dst, count, run, srcStride, dstStride), all in bytes
const CR = { src: 0, dst: 1, count: 2, run: 3, srcStride: 4, dstStride: 5, r: 6 };
const copyRuns: WasmFunction = {
  name: 'copyRuns',
  params: 6,
  i32Locals: 1,
  v128Locals: 0,
  body: w.range(CR.r, w.get(CR.count), w.i32(1),
    w.copy(w.get(CR.dst), w.get(CR.src), w.get(CR.run)),
    w.inc(CR.src, w.get(CR.srcStride)),
    w.inc(CR.dst, w.get(CR.dstStride)),
  ),
};

// Exact GELU, x Φ(x) with Φ(x) = (1 + erf(x/√2)) / 2, and its derivative Φ(x) + x φ(x). erf is
// Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7, as tfjs' erf) and exp Cephes' expf (range reduction
// by ln 2, a degree-6 polynomial, 2^k from the exponent bits), four lanes at a time.
const C = w.f32x4Const;
const GL = { x: 0, y: 1, count: 2, dx: 3, ib: 4, nb: 5, v: 6, z: 7, a: 8, t: 9, p: 10, e: 11, erf: 12, fx: 13, r: 14 }; // y is dy in the backward
/** Locals GL.erf = erf(v/√2) and GL.e = exp(−v²/2) from GL.v. */
const erfAndGaussian = (): number[] => {
  const g = w.get;
  const poly = (acc: number, x: number, coefs: number[]) => coefs.flatMap((c) => w.set(acc, w.f32x4Add(w.f32x4Mul(g(acc), g(x)), C(c))));
  return [
    ...w.set(GL.z, w.f32x4Mul(g(GL.v), C(Math.SQRT1_2))),
    ...w.set(GL.a, w.f32x4Abs(g(GL.z))),
    ...w.set(GL.t, w.f32x4Div(C(1), w.f32x4Add(C(1), w.f32x4Mul(C(0.3275911), g(GL.a))))),
    ...w.set(GL.p, C(1.061405429)),
    ...poly(GL.p, GL.t, [-1.453152027, 1.421413741, -0.284496736, 0.254829592]),
    ...w.set(GL.p, w.f32x4Mul(g(GL.p), g(GL.t))),
    // e = exp(−a²)
    ...w.set(GL.r, w.f32x4Max(w.f32x4Sub(C(0), w.f32x4Mul(g(GL.a), g(GL.a))), C(-87.33654))),
    ...w.set(GL.fx, w.f32x4Nearest(w.f32x4Mul(g(GL.r), C(Math.LOG2E)))),
    ...w.set(GL.r, w.f32x4Sub(w.f32x4Sub(g(GL.r), w.f32x4Mul(g(GL.fx), C(0.693359375))), w.f32x4Mul(g(GL.fx), C(-2.12194440e-4)))),
    ...w.set(GL.e, C(1.98756915e-4)),
    ...poly(GL.e, GL.r, [1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]),
    ...w.set(GL.e, w.f32x4Add(w.f32x4Add(w.f32x4Mul(w.f32x4Mul(g(GL.e), g(GL.r)), g(GL.r)), g(GL.r)), C(1))),
    ...w.set(GL.e, w.f32x4Mul(g(GL.e), w.i32x4Shl(w.i32x4Add(w.i32x4TruncSat(g(GL.fx)), w.i32x4Const(127)), 23))),
    // erf(z) = sign(z) (1 − p e)
    ...w.set(GL.erf, w.v128Or(w.f32x4Sub(C(1), w.f32x4Mul(g(GL.p), g(GL.e))), w.v128And(g(GL.z), w.i32x4Const(-0x80000000)))),
  ];
};
const elementLoop = (...body: number[][]) => [...w.set(GL.nb, w.shl2(w.get(GL.count))), ...w.range(GL.ib, w.get(GL.nb), w.i32(16), ...body)];
const at = (base: number) => w.add(w.get(base), w.get(GL.ib));
// geluForward(x, y, count): y = (x/2)(1 + erf(x/√2)); count a multiple of 4
const geluForward: WasmFunction = {
  name: 'geluForward',
  params: 3,
  i32Locals: 3, // dx's slot unused here, so the layouts agree
  v128Locals: 9,
  body: elementLoop(
    w.set(GL.v, w.v128Load(at(GL.x))),
    erfAndGaussian(),
    w.v128Store(at(GL.y), w.f32x4Mul(w.f32x4Mul(w.get(GL.v), C(0.5)), w.f32x4Add(w.get(GL.erf), C(1)))),
  ),
};
// geluBackward(x, dy, count, dx): dx = dy ((1 + erf(x/√2))/2 + x exp(−x²/2)/√(2π))
const geluBackward: WasmFunction = {
  name: 'geluBackward',
  params: 4,
  i32Locals: 2,
  v128Locals: 9,
  body: elementLoop(
    w.set(GL.v, w.v128Load(at(GL.x))),
    erfAndGaussian(),
    w.v128Store(at(GL.dx), w.f32x4Mul(w.v128Load(at(GL.y)), w.f32x4Add(w.f32x4Mul(C(0.5), w.f32x4Add(w.get(GL.erf), C(1))), w.f32x4Mul(w.f32x4Mul(w.get(GL.v), w.get(GL.e)), C(1 / Math.sqrt(2 * Math.PI)))))),
  ),
};

// adamw(p, m, v, g, count; coef, decay, β1, 1−β1, β2, 1−β2, √bc2, eps, lr/bc1): one AdamW update
// in place over the first count − count mod 4 elements, in the order of optimizer.ts' tfjs ops
// (the caller does the rest): g ← g·coef; p ← p·decay; m ← m β1 + g (1−β1);
// v ← v β2 + g² (1−β2); p ← p − m / (√v / √bc2 + eps) · lr/bc1.
const AD = { p: 0, m: 1, v: 2, g: 3, count: 4, coef: 5, decay: 6, b1: 7, omb1: 8, b2: 9, omb2: 10, sbc2: 11, eps: 12, step: 13, ib: 14, nb: 15, gg: 16, mm: 17, vv: 18, pd: 19 };
const splat = (f32Param: number) => w.f32x4Splat(w.get(f32Param));
const atAD = (base: number) => w.add(w.get(base), w.get(AD.ib));
const adamw: WasmFunction = {
  name: 'adamw',
  params: 5,
  f32Params: 9,
  i32Locals: 2,
  v128Locals: 4,
  body: [
    ...w.set(AD.nb, w.shl2(w.floor4(w.get(AD.count)))),
    ...w.range(AD.ib, w.get(AD.nb), w.i32(16),
      w.set(AD.gg, w.f32x4Mul(w.v128Load(atAD(AD.g)), splat(AD.coef))),
      w.set(AD.pd, w.f32x4Mul(w.v128Load(atAD(AD.p)), splat(AD.decay))),
      w.set(AD.mm, w.f32x4Add(w.f32x4Mul(w.v128Load(atAD(AD.m)), splat(AD.b1)), w.f32x4Mul(w.get(AD.gg), splat(AD.omb1)))),
      w.v128Store(atAD(AD.m), w.get(AD.mm)),
      w.set(AD.vv, w.f32x4Add(w.f32x4Mul(w.v128Load(atAD(AD.v)), splat(AD.b2)), w.f32x4Mul(w.f32x4Mul(w.get(AD.gg), w.get(AD.gg)), splat(AD.omb2)))),
      w.v128Store(atAD(AD.v), w.get(AD.vv)),
      w.v128Store(atAD(AD.p), w.f32x4Sub(w.get(AD.pd), w.f32x4Mul(w.f32x4Div(w.get(AD.mm), w.f32x4Add(w.f32x4Div(w.f32x4Sqrt(w.get(AD.vv)), splat(AD.sbc2)), splat(AD.eps))), splat(AD.step)))),
    ),
  ],
};

// sumSquares(x, count, out): f32 at out = Σ x² over the first count − count mod 4 elements.
const SS = { x: 0, count: 1, out: 2, ib: 3, nb: 4, acc: 5 };
const sumSquares: WasmFunction = {
  name: 'sumSquares',
  params: 3,
  i32Locals: 2,
  v128Locals: 1,
  body: [
    ...w.set(SS.nb, w.shl2(w.floor4(w.get(SS.count)))),
    ...w.set(SS.acc, w.v128Zero()),
    ...w.range(SS.ib, w.get(SS.nb), w.i32(16),
      w.set(SS.acc, w.f32x4Add(w.get(SS.acc), w.f32x4Mul(w.v128Load(w.add(w.get(SS.x), w.get(SS.ib))), w.v128Load(w.add(w.get(SS.x), w.get(SS.ib)))))),
    ),
    ...w.f32Store(w.get(SS.out), w.lanesSum(SS.acc)),
  ],
};

// Norms over the last axis (D a multiple of 4), one row at a time, in the order of ops/norms.ts'
// tfjs composites: LayerNorm y = (x − μ) · 1/√(σ² + 1e-5) · w (+ b); RMSNorm y = x · s · w with
// s = √D / max(‖x‖, 1e-12). The backwards recompute μ, σ or ‖x‖ from x and add every row's dw
// (and db) into outputs they zero first:
//   LayerNorm: g = dy w, x̂ = (x − μ)/σ', dx = (g − mean(g) − x̂ mean(g x̂)) / σ', dw = Σ dy x̂, db = Σ dy;
//   RMSNorm: g = dy w, dx = s g − x · s Σ(g x) / ‖x‖² (s g alone where the floor holds), dw = Σ dy x s.
interface NormLocals {
  r: number; jb: number; Db: number; xr: number; gr: number; or: number;
  mean: number; rstd: number; Df: number; t1: number; t2: number;
  acc: number; acc2: number; c: number; vmean: number; vrstd: number; xh: number; g: number;
}
/** Locals after `params` parameters. */
function normLocals(params: number): NormLocals {
  const i = (k: number) => params + k;
  const f = (k: number) => params + 6 + k;
  const v = (k: number) => params + 11 + k;
  return { r: i(0), jb: i(1), Db: i(2), xr: i(3), gr: i(4), or: i(5), mean: f(0), rstd: f(1), Df: f(2), t1: f(3), t2: f(4), acc: v(0), acc2: v(1), c: v(2), vmean: v(3), vrstd: v(4), xh: v(5), g: v(6) };
}
const NORM_LOCALS = { i32Locals: 6, f32Locals: 5, v128Locals: 7 };
const hsum = w.lanesSum;
const rowLoop = (L: NormLocals, jb: number, ...body: number[][]) => w.range(jb, w.get(L.Db), w.i32(16), ...body);
const vAt = (L: NormLocals, base: number) => w.v128Load(w.add(w.get(base), w.get(L.jb)));
/** L.mean = μ and L.vmean, L.rstd = 1/√(σ² + 1e-5) and L.vrstd of the row at L.xr. */
const meanAndRstd = (L: NormLocals) => [
  ...w.set(L.acc, w.v128Zero()),
  ...rowLoop(L, L.jb, w.set(L.acc, w.f32x4Add(w.get(L.acc), vAt(L, L.xr)))),
  ...w.set(L.mean, w.f32Div(hsum(L.acc), w.get(L.Df))),
  ...w.set(L.vmean, w.f32x4Splat(w.get(L.mean))),
  ...w.set(L.acc, w.v128Zero()),
  ...rowLoop(L, L.jb, w.set(L.c, w.f32x4Sub(vAt(L, L.xr), w.get(L.vmean))), w.set(L.acc, w.f32x4Add(w.get(L.acc), w.f32x4Mul(w.get(L.c), w.get(L.c))))),
  ...w.set(L.rstd, w.f32Div(w.f32Const(1), w.f32Sqrt(w.f32Add(w.f32Div(hsum(L.acc), w.get(L.Df)), w.f32Const(1e-5))))),
  ...w.set(L.vrstd, w.f32x4Splat(w.get(L.rstd))),
];
/** L.rstd = s = √D / √max(Σx², 1e-24) and L.vrstd, L.t1 = Σx², of the row at L.xr. */
const rmsScale = (L: NormLocals) => [
  ...w.set(L.acc, w.v128Zero()),
  ...rowLoop(L, L.jb, w.set(L.acc, w.f32x4Add(w.get(L.acc), w.f32x4Mul(vAt(L, L.xr), vAt(L, L.xr))))),
  ...w.set(L.t1, hsum(L.acc)),
  ...w.set(L.rstd, w.f32Mul(w.f32Div(w.f32Const(1), w.f32Sqrt(w.f32Max(w.get(L.t1), w.f32Const(1e-24)))), w.f32Sqrt(w.get(L.Df)))),
  ...w.set(L.vrstd, w.f32x4Splat(w.get(L.rstd))),
];
const rowsOf = (L: NormLocals, rows: number, D: number, start: number[], perRow: number[], advance: number[]) => [
  ...w.set(L.Db, w.shl2(w.get(D))),
  ...w.set(L.Df, w.f32FromI32(w.get(D))),
  ...start,
  ...w.range(L.r, w.get(rows), w.i32(1), perRow, advance),
];

// layerNorm(x, w, b, y, rows, D) or, without bias, layerNormNoBias(x, w, y, rows, D)
function layerNormForward(bias: boolean): WasmFunction {
  const P = bias ? { x: 0, w: 1, b: 2, y: 3, rows: 4, D: 5 } : { x: 0, w: 1, b: -1, y: 2, rows: 3, D: 4 };
  const params = bias ? 6 : 5;
  const L = normLocals(params);
  let value = w.f32x4Mul(w.f32x4Mul(w.f32x4Sub(vAt(L, L.xr), w.get(L.vmean)), w.get(L.vrstd)), vAt(L, P.w));
  // w and b are indexed by jb alone: vAt adds jb to the base
  if (bias) value = w.f32x4Add(value, vAt(L, P.b));
  return {
    name: bias ? 'layerNorm' : 'layerNormNoBias',
    params,
    ...NORM_LOCALS,
    body: rowsOf(L, P.rows, P.D, [...w.set(L.xr, w.get(P.x)), ...w.set(L.or, w.get(P.y))], [
      ...meanAndRstd(L),
      ...rowLoop(L, L.jb, w.v128Store(w.add(w.get(L.or), w.get(L.jb)), value)),
    ], [...w.inc(L.xr, w.get(L.Db)), ...w.inc(L.or, w.get(L.Db))]),
  };
}

// layerNormGrad(x, w, dy, dx, dw, db, rows, D) or layerNormGradNoBias(x, w, dy, dx, dw, rows, D)
function layerNormBackward(bias: boolean): WasmFunction {
  const P = bias ? { x: 0, w: 1, dy: 2, dx: 3, dw: 4, db: 5, rows: 6, D: 7 } : { x: 0, w: 1, dy: 2, dx: 3, dw: 4, db: -1, rows: 5, D: 6 };
  const params = bias ? 8 : 7;
  const L = normLocals(params);
  const store = (base: number, value: number[]) => w.v128Store(w.add(w.get(base), w.get(L.jb)), value);
  const xhat = w.set(L.xh, w.f32x4Mul(w.f32x4Sub(vAt(L, L.xr), w.get(L.vmean)), w.get(L.vrstd)));
  const g = w.set(L.g, w.f32x4Mul(vAt(L, L.gr), vAt(L, P.w)));
  return {
    name: bias ? 'layerNormGrad' : 'layerNormGradNoBias',
    params,
    ...NORM_LOCALS,
    body: rowsOf(L, P.rows, P.D, [
      ...w.set(L.xr, w.get(P.x)), ...w.set(L.gr, w.get(P.dy)), ...w.set(L.or, w.get(P.dx)),
      ...rowLoop(L, L.jb, store(P.dw, w.v128Zero()), bias ? store(P.db, w.v128Zero()) : []),
    ], [
      ...meanAndRstd(L),
      ...w.set(L.acc, w.v128Zero()),
      ...w.set(L.acc2, w.v128Zero()),
      ...rowLoop(L, L.jb, xhat, g, w.set(L.acc, w.f32x4Add(w.get(L.acc), w.get(L.g))), w.set(L.acc2, w.f32x4Add(w.get(L.acc2), w.f32x4Mul(w.get(L.g), w.get(L.xh))))),
      ...w.set(L.t1, w.f32Div(hsum(L.acc), w.get(L.Df))),
      ...w.set(L.t2, w.f32Div(hsum(L.acc2), w.get(L.Df))),
      ...rowLoop(L, L.jb, xhat, g,
        store(L.or, w.f32x4Mul(w.f32x4Sub(w.f32x4Sub(w.get(L.g), w.f32x4Splat(w.get(L.t1))), w.f32x4Mul(w.get(L.xh), w.f32x4Splat(w.get(L.t2)))), w.get(L.vrstd))),
        store(P.dw, w.f32x4Add(vAt(L, P.dw), w.f32x4Mul(vAt(L, L.gr), w.get(L.xh)))),
        bias ? store(P.db, w.f32x4Add(vAt(L, P.db), vAt(L, L.gr))) : [],
      ),
    ], [...w.inc(L.xr, w.get(L.Db)), ...w.inc(L.gr, w.get(L.Db)), ...w.inc(L.or, w.get(L.Db))]),
  };
}

// rmsNorm(x, w, y, rows, D)
const RN = { x: 0, w: 1, y: 2, rows: 3, D: 4 };
const RL = normLocals(5);
const rmsNorm: WasmFunction = {
  name: 'rmsNorm',
  params: 5,
  ...NORM_LOCALS,
  body: rowsOf(RL, RN.rows, RN.D, [...w.set(RL.xr, w.get(RN.x)), ...w.set(RL.or, w.get(RN.y))], [
    ...rmsScale(RL),
    ...rowLoop(RL, RL.jb, w.v128Store(w.add(w.get(RL.or), w.get(RL.jb)), w.f32x4Mul(w.f32x4Mul(vAt(RL, RL.xr), w.get(RL.vrstd)), vAt(RL, RN.w)))),
  ], [...w.inc(RL.xr, w.get(RL.Db)), ...w.inc(RL.or, w.get(RL.Db))]),
};

// rmsNormGrad(x, w, dy, dx, dw, rows, D)
const RG = { x: 0, w: 1, dy: 2, dx: 3, dw: 4, rows: 5, D: 6 };
const GL2 = normLocals(7);
const rmsNormGrad: WasmFunction = {
  name: 'rmsNormGrad',
  params: 7,
  ...NORM_LOCALS,
  body: rowsOf(GL2, RG.rows, RG.D, [
    ...w.set(GL2.xr, w.get(RG.x)), ...w.set(GL2.gr, w.get(RG.dy)), ...w.set(GL2.or, w.get(RG.dx)),
    ...rowLoop(GL2, GL2.jb, w.v128Store(w.add(w.get(RG.dw), w.get(GL2.jb)), w.v128Zero())),
  ], [
    ...rmsScale(GL2),
    ...w.set(GL2.acc, w.v128Zero()),
    ...rowLoop(GL2, GL2.jb, w.set(GL2.acc, w.f32x4Add(w.get(GL2.acc), w.f32x4Mul(w.f32x4Mul(vAt(GL2, GL2.gr), vAt(GL2, RG.w)), vAt(GL2, GL2.xr))))),
    // t2 = s Σ(g x) / Σx², or 0 where the floor holds (Σx² ≤ 1e-24)
    ...w.set(GL2.t2, w.selectGt(w.f32Div(w.f32Mul(w.get(GL2.rstd), hsum(GL2.acc)), w.get(GL2.t1)), w.f32Const(0), w.get(GL2.t1), w.f32Const(1e-24))),
    ...rowLoop(GL2, GL2.jb,
      w.v128Store(w.add(w.get(GL2.or), w.get(GL2.jb)), w.f32x4Sub(w.f32x4Mul(w.get(GL2.vrstd), w.f32x4Mul(vAt(GL2, GL2.gr), vAt(GL2, RG.w))), w.f32x4Mul(vAt(GL2, GL2.xr), w.f32x4Splat(w.get(GL2.t2))))),
      w.v128Store(w.add(w.get(RG.dw), w.get(GL2.jb)), w.f32x4Add(vAt(GL2, RG.dw), w.f32x4Mul(w.f32x4Mul(vAt(GL2, GL2.gr), vAt(GL2, GL2.xr)), w.get(GL2.vrstd)))),
    ),
  ], [...w.inc(GL2.xr, w.get(GL2.Db)), ...w.inc(GL2.gr, w.get(GL2.Db)), ...w.inc(GL2.or, w.get(GL2.Db))]),
};

export interface Kernels {
  mixNN(a: number, b: number, c: number, batch: number, m: number, k: number, n: number, rsA: number, csA: number, bsA: number): void;
  mixNT(a: number, b: number, c: number, batch: number, m: number, n: number, k: number): void;
  gemmNN(a: number, b: number, c: number, batch: number, m: number, k: number, n: number, rsA: number, csA: number, bsA: number): void;
  sumMiddle(x: number, out: number, outer: number, mid: number, inner: number): void;
  copyRuns(src: number, dst: number, count: number, run: number, srcStride: number, dstStride: number): void;
  geluForward(x: number, y: number, count: number): void;
  geluBackward(x: number, dy: number, count: number, dx: number): void;
  adamw(p: number, m: number, v: number, g: number, count: number, coef: number, decay: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, sqrtBc2: number, eps: number, stepSize: number): void;
  sumSquares(x: number, count: number, out: number): void;
  layerNorm(x: number, w: number, b: number, y: number, rows: number, D: number): void;
  layerNormNoBias(x: number, w: number, y: number, rows: number, D: number): void;
  layerNormGrad(x: number, w: number, dy: number, dx: number, dw: number, db: number, rows: number, D: number): void;
  layerNormGradNoBias(x: number, w: number, dy: number, dx: number, dw: number, rows: number, D: number): void;
  rmsNorm(x: number, w: number, y: number, rows: number, D: number): void;
  rmsNormGrad(x: number, w: number, dy: number, dx: number, dw: number, rows: number, D: number): void;
}

/** The kernels, running in `memory` (tfjs-wasm's heap). */
export function instantiateKernels(memory: WebAssembly.Memory): Kernels {
  const module = new WebAssembly.Module(assemble([mixNN, mixNT, gemmNN, sumMiddle, copyRuns, geluForward, geluBackward, adamw, sumSquares, layerNormForward(true), layerNormForward(false), layerNormBackward(true), layerNormBackward(false), rmsNorm, rmsNormGrad]));
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernels;
}
