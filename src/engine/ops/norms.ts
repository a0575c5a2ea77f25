// The three normalisations of the model as ops: LayerNorm, the HC paper's (γ+1)-gain LayerNorm
// and RMSNorm over the last axis. Each is one fused WGSL program (webgpu-norms.ts) when the fused
// webgpu backend is active, one wasm kernel forward and one backward on wasm (wasm/kernels.ts),
// the tfjs composite below otherwise; all follow PyTorch's definitions in the same order
// (test/model/webgpu-norms.test.ts and test/engine/wasm-norms.test.ts compare them).
import { tf, type Tensor } from '../tf.ts';
import { normGradKernel, normKernel, wasmKernelsActive } from '../wasm/tfjs-kernels.ts';
import { fusedNorm } from '../webgpu-norms.ts';
import { fusedBackend } from '../webgpu-raw.ts';

/** nn.LayerNorm's default eps; its variance is the biased one (divided by D). */
const LN_EPS = 1e-5;
/** (1e-12)², the floor F.normalize puts under ‖x‖, here under ‖x‖². */
const NORMALIZE_EPS_SQ = 1e-24;

/** (x − μ) / √(σ² + ε) over the last axis; x: [..., D] → [..., D]. */
function standardise(x: Tensor): Tensor {
  const mean = tf.mean(x, -1, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), -1, true);
  return tf.mul(centred, tf.rsqrt(tf.add(variance, LN_EPS)));
}

/** Whether the wasm kernels take this norm: float32, the last axis a multiple of 4. */
function onWasmKernels(x: Tensor): boolean {
  return wasmKernelsActive() && x.dtype === 'float32' && (x.shape[x.rank - 1] as number) % 4 === 0;
}

/** The norm on the wasm kernels with its gradient (dx, dw and db from one backward kernel). */
function wasmNorm(kind: 'layer' | 'rms', x: Tensor, w: Tensor, b: Tensor | undefined): Tensor {
  const f = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as (saved: Tensor[]) => void;
    const [xs, ws, bs] = args.slice(0, -1) as [Tensor, Tensor, Tensor | undefined];
    save([xs, ws]);
    return {
      value: normKernel(kind, xs, ws, bs),
      gradFunc: (dy: Tensor, saved: Tensor[]) => normGradKernel(kind, saved[0] as Tensor, saved[1] as Tensor, dy, bs !== undefined),
    };
  }) as never) as (...inputs: Tensor[]) => Tensor;
  return b ? f(x, w, b) : f(x, w);
}

/** LayerNorm: (x − μ)/σ · w (+ b); x: [..., D], w and b: [D]; `b` absent for bias-free models. */
export function layerNormOp(x: Tensor, w: Tensor, b: Tensor | undefined): Tensor {
  const gpu = fusedBackend();
  if (gpu) return fusedNorm(gpu, 'layer', x, w, b);
  if (onWasmKernels(x)) return wasmNorm('layer', x, w, b);
  const y = tf.mul(standardise(x), w);
  return b ? tf.add(y, b) : y;
}

/** LayerNorm without bias, gain γ + 1 (γ stored zero-initialised); x: [..., D], γ: [D]. */
export function gainLayerNormOp(x: Tensor, gamma: Tensor): Tensor {
  const gpu = fusedBackend();
  if (gpu) return fusedNorm(gpu, 'gain', x, gamma);
  if (onWasmKernels(x)) return wasmNorm('layer', x, tf.add(gamma, 1), undefined);
  return tf.mul(standardise(x), tf.add(gamma, 1));
}

/**
 * RMSNorm as the HC code writes it: x / max(‖x‖, 1e-12) · √D · (γ + 1); x: [..., D], γ: [D].
 * The floor keeps a zero row (an ablated stream) at zero with a finite gradient.
 */
export function rmsNormOp(x: Tensor, gamma: Tensor): Tensor {
  const gpu = fusedBackend();
  if (gpu) return fusedNorm(gpu, 'rms', x, gamma);
  if (onWasmKernels(x)) return wasmNorm('rms', x, tf.add(gamma, 1), undefined);
  const dim = x.shape[x.rank - 1] as number;
  const inv = tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), NORMALIZE_EPS_SQ));
  return tf.mul(tf.mul(x, tf.mul(inv, Math.sqrt(dim))), tf.add(gamma, 1));
}
