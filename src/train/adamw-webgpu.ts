// Global-norm clipping and AdamW fused into three WGSL programs for the webgpu backend. Through
// tfjs ops an update costs about 16 kernels per parameter tensor (square, sum, scale, and 13 for
// the moments and the step); here it is two dispatches per tensor plus one, recorded in tfjs'
// own compute pass, and p, m and v are written in place. The arithmetic is the unfused path's, in the same
// order (optimizer.ts), so both agree to float32 rounding; test/train/adamw-webgpu.test.ts checks it.
/// <reference types="@webgpu/types" />
import type { AdamWScalars, InPlaceParam } from '../engine/adamw-in-place.ts';
import { dispatch, markWritten, pipeline, type WebgpuBackend, workgroupSumWgsl } from '../engine/webgpu-raw.ts';
import { readBufferSync } from '../engine/webgpu-node.ts';


/** Workgroups that each gradient's sum of squares uses; one float32 partial each (256 bytes). */
const PARTIALS = 64;
const WG = 256;

// Sum of squares of one gradient into PARTIALS partial sums (bound at this gradient's offset).
const SUMSQ = /* wgsl */ `${workgroupSumWgsl(WG)}
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> partial: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let n = arrayLength(&g);
  var s = 0.0;
  for (var i = wid.x * ${WG}u + lid.x; i < n; i = i + ${PARTIALS * WG}u) {
    let x = g[i];
    s = s + x * x;
  }
  let total = workgroup_sum(s, lid.x);
  if (lid.x == 0u) { partial[wid.x] = total; }
}`;

// Hyper-parameters of one update; decay is 1 - lr * weight_decay, or 1 for the no-decay group.
const HYPER = /* wgsl */ `
struct Hyper {
  beta1: f32, beta2: f32, one_minus_beta1: f32, one_minus_beta2: f32,
  decay: f32, step_size: f32, sqrt_bc2: f32, eps: f32,
  max_norm: f32, _pad0: f32, _pad1: f32, _pad2: f32,
}`;

// All partials into [sum of squares, clip coefficient]: one workgroup, a fixed order.
const FINALIZE = /* wgsl */ `${HYPER}${workgroupSumWgsl(WG)}
@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> result: array<f32>;
@group(0) @binding(2) var<uniform> u: Hyper;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3u) {
  let n = arrayLength(&partial);
  var s = 0.0;
  for (var i = lid.x; i < n; i = i + ${WG}u) { s = s + partial[i]; }
  let total = workgroup_sum(s, lid.x);
  if (lid.x == 0u) {
    let norm = sqrt(total);
    var coef = 1.0;
    if (u.max_norm > 0.0 && norm > u.max_norm) { coef = u.max_norm / (norm + 1e-6); }
    result[0] = total;
    result[1] = coef;
  }
}`;

// AdamW on one parameter tensor, in place, with the clip coefficient applied to the gradient.
const ADAMW = /* wgsl */ `${HYPER}
@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read_write> m: array<f32>;
@group(0) @binding(2) var<storage, read_write> v: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> result: array<f32>;
@group(0) @binding(5) var<uniform> u: Hyper;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = arrayLength(&p);
  let coef = result[1];
  for (var i = gid.x; i < n; i = i + nwg.x * ${WG}u) {
    let gi = g[i] * coef;
    let pd = p[i] * u.decay;
    let mi = m[i] * u.beta1 + gi * u.one_minus_beta1;
    let vi = v[i] * u.beta2 + (gi * gi) * u.one_minus_beta2;
    m[i] = mi;
    v[i] = vi;
    let denom = sqrt(vi) / u.sqrt_bc2 + u.eps;
    p[i] = pd - (mi / denom) * u.step_size;
  }
}`;

/** Per-device buffers of the fused update, kept between steps. */
export class WebgpuAdamW {
  private partial: GPUBuffer | undefined;
  private readonly result: GPUBuffer;
  private readonly hyper: { decay: GPUBuffer; noDecay: GPUBuffer };

  constructor(private readonly backend: WebgpuBackend) {
    const d = backend.device;
    this.result = d.createBuffer({ label: 'adamw.result', size: 8, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const uniform = (label: string) => d.createBuffer({ label, size: 48, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.hyper = { decay: uniform('adamw.hyper.decay'), noDecay: uniform('adamw.hyper.nodecay') };
  }

  /** Clips and applies one update; returns the global gradient norm before clipping. */
  step(params: InPlaceParam[], h: AdamWScalars): number {
    const { backend } = this;
    const d = backend.device;
    const bytes = Math.max(1, params.length) * PARTIALS * 4;
    if (!this.partial || this.partial.size < bytes) {
      this.partial?.destroy();
      this.partial = d.createBuffer({ label: 'adamw.partial', size: bytes, usage: GPUBufferUsage.STORAGE });
    }
    const common = [h.beta1, h.beta2, 1 - h.beta1, 1 - h.beta2];
    const tail = [h.lr / h.bc1, Math.sqrt(h.bc2), h.eps, h.maxNorm, 0, 0, 0];
    d.queue.writeBuffer(this.hyper.decay, 0, new Float32Array([...common, 1 - h.lr * h.weightDecay, ...tail]));
    d.queue.writeBuffer(this.hyper.noDecay, 0, new Float32Array([...common, 1, ...tail]));

    const sumsq = pipeline(d, 'hcprobe.adamw.sumsq', () => SUMSQ);
    const partial = this.partial;
    params.forEach((x, i) => {
      dispatch(backend, sumsq, [x.g, { buffer: partial, offset: i * PARTIALS * 4, size: PARTIALS * 4 }], [PARTIALS]);
    });
    const result = { buffer: this.result };
    dispatch(backend, pipeline(d, 'hcprobe.adamw.finalize', () => FINALIZE), [{ buffer: partial, offset: 0, size: bytes }, result, { buffer: this.hyper.noDecay }], [1]);
    const adamw = pipeline(d, 'hcprobe.adamw.update', () => ADAMW);
    for (const x of params) {
      dispatch(backend, adamw, [x.p, x.m, x.v, x.g, result, { buffer: x.decay ? this.hyper.decay : this.hyper.noDecay }], [Math.min(Math.ceil(x.p.size / WG), 4096)]);
    }
    // the read submits everything recorded so far
    for (const x of params) for (const t of [x.p, x.m, x.v]) markWritten(backend, t);
    const total = new Float32Array(readBufferSync(backend, this.result, 8))[0] as number;
    return Math.sqrt(total);
  }

  dispose(): void {
    this.partial?.destroy();
    this.result.destroy();
    this.hyper.decay.destroy();
    this.hyper.noDecay.destroy();
  }
}
