// The products among our wasm kernels (kernels.ts instantiates them):
//   mixNN: C[r] = A[r] · B[r], A addressed by strides (so Aᵀ costs nothing), B and C contiguous,
//          vectorised along B's rows (columns a multiple of 4). Batched products of many tiny
//          matrices against long rows, a hyper-connection's per-token mixing αᵀH: tfjs-wasm sends
//          batched products to a scalar fallback that ran these at ~0.6 GFLOP/s.
//   gemmNN: the same product in 4 × 8 blocks (rows a multiple of 4, columns of 8).
//   mixNT: C[r] = A[r] · B[r]ᵀ, A and B contiguous, vectorised along the shared axis (a multiple of 4).
import { type WasmFunction, w } from '../assemble.ts';

// MixNN(a, b, c, batch, m, k, n, rsA, csA, bsA): strides of A in elements.
const NN = { a: 0, b: 1, c: 2, batch: 3, m: 4, k: 5, n: 6, rsA: 7, csA: 8, bsA: 9, bt: 10, i: 11, jb: 12, p: 13, aRow: 14, aP: 15, bP: 16, bBase: 17, cRow: 18, nb: 19, knb: 20, acc: 21 };
export const mixNN: WasmFunction = {
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
export const gemmNN: WasmFunction = {
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
export const mixNT: WasmFunction = {
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
