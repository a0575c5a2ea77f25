// The slice list shared by the params, grads, m and v arenas: trainable tensors of the decay group
// first, then the rest, each group in the order given (the model's paramSpecs order), so that
// AdamW is one pass with one decay boundary (adamw.ts). Fixed buffers (the `noise` stream init)
// go to a constants arena of their own: they get no gradient and no moments.
import { type ArenaLayout, layoutSlices, type SliceSpec } from './gpu-arena.ts';

/** What the layout needs of a parameter (model/params.ts' ParamSpec has these fields). */
export interface LayoutParam {
  name: string;
  shape: readonly number[];
  decay: boolean;
  trainable: boolean;
}

export interface OptimizerLayout {
  /** slices of the four optimizer arenas, decay group first */
  slices: SliceSpec[];
  /** slices of the constants arena */
  constants: SliceSpec[];
  /** the four arenas' layout at `align` */
  layout: ArenaLayout;
  /** floats from the start of an optimizer arena that are in the decay group */
  decayEnd: number;
}

export function optimizerLayout(params: readonly LayoutParam[], align: number): OptimizerLayout {
  const slice = (p: LayoutParam): SliceSpec => ({ name: p.name, length: p.shape.reduce((a, b) => a * b, 1) });
  const trainable = params.filter((p) => p.trainable);
  const slices = [...trainable.filter((p) => p.decay), ...trainable.filter((p) => !p.decay)].map(slice);
  const constants = params.filter((p) => !p.trainable).map(slice);
  const layout = layoutSlices(slices, align);
  const firstPlain = layout.slices.find((s) => !trainable.find((p) => p.name === s.name)?.decay);
  return { slices, constants, layout, decayEnd: firstPlain ? firstPlain.offset / 4 : layout.bytes / 4 };
}
