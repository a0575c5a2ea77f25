// The elementwise, reduction and copy kernels among our wasm kernels (kernels.ts instantiates them):
//   sumMiddle: out[o, :] = Σ_m x[o, m, :] (inner a multiple of 4); tfjs-wasm transposes the
//          reduced axes to the end first.
//   copyRuns: `count` runs of `run` bytes from strided source to strided destination, for slices,
//          splits and concatenations (tfjs-wasm copies narrow runs one JavaScript call each).
//   geluForward, geluBackward: exact GELU and its derivative.
//   adamw, sumSquares: an AdamW update in place, and the squares' sum for clipping.
import { type WasmFunction, w } from '../assemble.ts';

// sumMiddle(x, out, outer, mid, inner)
const SM = { x: 0, out: 1, outer: 2, mid: 3, inner: 4, o: 5, jb: 6, m: 7, xp: 8, xo: 9, op: 10, ib: 11, mb: 12, acc: 13 };
export const sumMiddle: WasmFunction = {
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
export const copyRuns: WasmFunction = {
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
export const geluForward: WasmFunction = {
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
export const geluBackward: WasmFunction = {
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
export const adamw: WasmFunction = {
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
export const sumSquares: WasmFunction = {
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
