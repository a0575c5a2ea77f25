// The norm kernels among our wasm kernels (kernels.ts instantiates them).
import { type WasmFunction, w } from '../assemble.ts';

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
export function layerNormForward(bias: boolean): WasmFunction {
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
export function layerNormBackward(bias: boolean): WasmFunction {
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
export const rmsNorm: WasmFunction = {
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
export const rmsNormGrad: WasmFunction = {
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
