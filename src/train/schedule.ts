// Learning-rate schedule of nanoGPT: linear warmup, then cosine decay to the minimum.

export interface Schedule {
  lr: number;
  minLr: number;
  warmupSteps: number;
  decaySteps: number;
}

/** Learning rate at 0-based step `it`. */
export function learningRate(s: Schedule, it: number): number {
  if (it < s.warmupSteps) return (s.lr * (it + 1)) / (s.warmupSteps + 1);
  if (it >= s.decaySteps) return s.minLr;
  const ratio = (it - s.warmupSteps) / Math.max(1, s.decaySteps - s.warmupSteps);
  return s.minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (s.lr - s.minLr);
}
