// Shared-memory layout between the main thread and data-parallel workers: parameters in,
// tokens in, gradients and loss out, and an Int32 control word to wait and notify on.

export const CMD_STEP = 1;
export const CMD_EXIT = 2;
export const STATUS_BUSY = 0;
export const STATUS_DONE = 1;
export const STATUS_ERROR = 2;

export interface SharedLayout {
  /** Total parameter count, in the worker's variable order. */
  paramCount: number;
  /** Most tokens a worker's share of a batch can hold. */
  maxTokens: number;
}

export interface SharedViews {
  /** [cmd, rows, seqLen, status] */
  ctrl: Int32Array;
  params: Float32Array;
  grads: Float32Array;
  tokens: Int32Array;
  targets: Int32Array;
  loss: Float64Array;
}

export function sharedBuffers(l: SharedLayout): SharedArrayBuffer[] {
  return [
    new SharedArrayBuffer(4 * 4),
    new SharedArrayBuffer(4 * l.paramCount),
    new SharedArrayBuffer(4 * l.paramCount),
    new SharedArrayBuffer(4 * l.maxTokens),
    new SharedArrayBuffer(4 * l.maxTokens),
    new SharedArrayBuffer(8),
  ];
}

export function sharedViews(_l: SharedLayout, b: SharedArrayBuffer[]): SharedViews {
  const [ctrl, params, grads, tokens, targets, loss] = b as [SharedArrayBuffer, SharedArrayBuffer, SharedArrayBuffer, SharedArrayBuffer, SharedArrayBuffer, SharedArrayBuffer];
  return {
    ctrl: new Int32Array(ctrl),
    params: new Float32Array(params),
    grads: new Float32Array(grads),
    tokens: new Int32Array(tokens),
    targets: new Int32Array(targets),
    loss: new Float64Array(loss),
  };
}
