// Model configuration: a GPT-2 layout (nanoGPT) whose residual connections are one of the
// hyper-connection family (docs/model.md). Validation names the offending value.
import { ConfigError, shown } from '../errors.ts';

export type Connection =
  | { kind: 'residual' }
  | { kind: 'hc'; dynamic: boolean; dynamicNorm: 'rms' | 'layer' }
  | { kind: 'mhc'; sinkhornIters: number }
  | { kind: 'mhc-lite' }
  | { kind: 'post-norm' }
  | { kind: 'residual-dual' }
  | { kind: 'altup' }
  | { kind: 'frac'; dynamic: boolean; dynamicNorm: 'rms' | 'layer' };

export type ConnectionKind = Connection['kind'];
export const CONNECTION_KINDS: readonly ConnectionKind[] = ['residual', 'hc', 'mhc', 'mhc-lite', 'post-norm', 'residual-dual', 'altup', 'frac'];

export type StreamInit =
  | { kind: 'copy' }
  | { kind: 'lss'; center: number }
  | { kind: 'stream-embed' }
  | { kind: 'noise'; sigma: number };

export type StreamInitKind = StreamInit['kind'];
export const STREAM_INIT_KINDS: readonly StreamInitKind[] = ['copy', 'lss', 'stream-embed', 'noise'];

export type ReadStream = 'modulo' | 'random';

export interface ModelConfig {
  vocabSize: number;
  /** Longest sequence: rows of the position embedding. */
  blockSize: number;
  nLayers: number;
  nHeads: number;
  dModel: number;
  /** Biases in linear layers and LayerNorms, as GPT-2. */
  bias: boolean;
  nStreams: number;
  connection: Connection;
  streamInit: StreamInit;
  /** Which stream each module reads at init (docs/model.md). */
  readStream: ReadStream;
}

/** Defaults of the model family, each with its reason. */
export const MODEL_DEFAULTS: ModelConfig = {
  vocabSize: 256, // byte-level tokenizer
  blockSize: 128, // enough context for the synthetic corpus' long-distance agreement
  nLayers: 4,
  nHeads: 4,
  dModel: 128,
  bias: false, // the reference's train.py sets bias = False for every run
  nStreams: 4, // the HC and stream-collapse papers' usual n
  connection: { kind: 'mhc-lite' }, // the stream-collapse paper's main setting
  streamInit: { kind: 'copy' }, // no symmetry breaking: the collapse-prone baseline
  readStream: 'random', // the reference draws one stream per module (drawn here from the seed)
};

/**
 * Maximum streams per connection kind: mHC-lite enumerates n! permutations; Pre-/Post-Norm have
 * one stream and ResiDual two (exactly: minStreams); AltUp's K sub-blocks and Frac's m fractions
 * stop at 8 like HC's n.
 */
export function maxStreams(kind: ConnectionKind): number {
  if (kind === 'residual' || kind === 'post-norm') return 1;
  if (kind === 'residual-dual') return 2;
  return kind === 'mhc-lite' ? 6 : 8;
}

/** Fewest streams per kind: ResiDual is its Pre-Norm and Post-Norm stream, always both. */
export function minStreams(kind: ConnectionKind): number {
  return kind === 'residual-dual' ? 2 : 1;
}

export function validateModelConfig(c: ModelConfig): ModelConfig {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${name} must be a positive integer, got ${shown(v)}`);
  };
  positiveInt('vocabSize', c.vocabSize);
  positiveInt('blockSize', c.blockSize);
  positiveInt('nLayers', c.nLayers);
  positiveInt('nHeads', c.nHeads);
  positiveInt('dModel', c.dModel);
  positiveInt('nStreams', c.nStreams);
  if (c.dModel % c.nHeads !== 0) {
    throw new ConfigError(`dModel (${c.dModel}) must be divisible by nHeads (${c.nHeads})`);
  }
  const kind = c.connection.kind;
  if (!CONNECTION_KINDS.includes(kind)) throw new ConfigError(`unknown connection ${shown(kind)}`);
  if (c.nStreams > maxStreams(kind) || c.nStreams < minStreams(kind)) {
    throw new ConfigError(`connection ${kind} supports ${minStreams(kind)} to ${maxStreams(kind)} streams, got ${shown(c.nStreams)}`);
  }
  if (kind === 'frac' && c.dModel % c.nStreams !== 0) {
    throw new ConfigError(`frac splits dModel into nStreams fractions: dModel (${c.dModel}) must be divisible by nStreams (${shown(c.nStreams)})`);
  }
  if ((kind === 'post-norm' || kind === 'residual-dual' || kind === 'frac') && c.streamInit.kind !== 'copy') {
    throw new ConfigError(`stream init ${shown(c.streamInit.kind)} is not defined for connection ${kind}: its streams start as the embedding (copy)`);
  }
  if (!STREAM_INIT_KINDS.includes(c.streamInit.kind)) throw new ConfigError(`unknown stream init ${shown(c.streamInit.kind)}`);
  if (kind === 'residual' && c.streamInit.kind !== 'copy') {
    throw new ConfigError(`stream init ${shown(c.streamInit.kind)} needs several streams; the residual model has one`);
  }
  if (c.readStream !== 'modulo' && c.readStream !== 'random') throw new ConfigError(`unknown read stream ${shown(c.readStream)}`);
  if (c.connection.kind === 'mhc') positiveInt('sinkhornIters', c.connection.sinkhornIters);
  return c;
}

/** Number of connection modules: one per attention and one per MLP sublayer. */
export function nModules(c: ModelConfig): number {
  return 2 * c.nLayers;
}
