// Model checkpoints as safetensors with the reference code's names and layouts (docs/formats.md).
// The config is read from tensor shapes; kind and n from metadata when present, checked
// against the shapes. Aliased names are all accepted on read and all written.
import { ConfigError, shown } from '../errors.ts';
import { ownedVariable, tf } from '../engine/tf.ts';
import { type Connection, MODEL_DEFAULTS, type ModelConfig, type StreamInit, validateModelConfig } from './config.ts';
import { type ParamSpec, type Params, paramSpecs } from './params.ts';
import type { SafetensorsFile, StTensor } from '../io/safetensors.ts';

/**
 * Reference `hyper_conn_type` values, and hcprobe's own for the kinds the reference lacks (their
 * checkpoints are read back through `hcprobe_config`, which every hcprobe checkpoint carries).
 */
export type HyperConnType = 'none' | 'hc' | 'mhc' | 'mhc_lite' | 'mhc_lite_lss' | 'post_norm' | 'residual_dual' | 'altup' | 'frac';

export interface ConfigOverrides {
  nHeads?: number;
  connection?: Connection['kind'];
  nStreams?: number;
}

/** Every name a tensor is stored under besides its canonical one (the reference repeats some). */
export function aliases(name: string): string[] {
  const branch = name.match(/^transformer\.h\.(\d+)\.branch_(attn|mlp)\.(.*)$/);
  if (branch) return [`transformer.h.${branch[1]}.hc_${branch[2]}.branch.${branch[3]}`];
  if (name === 'transformer.wte.weight') return ['lm_head.weight'];
  return [];
}

/** Per-layer copies of the shared expansion parameters, which the reference also stores. */
function layerAliases(name: string, nLayers: number): string[] {
  if (!name.startsWith('expand_stream.')) return [];
  return Array.from({ length: nLayers }, (_, l) => `transformer.h.${l}.${name}`);
}

function lookup(file: SafetensorsFile, name: string, nLayers: number): StTensor | undefined {
  for (const n of [name, ...aliases(name), ...layerAliases(name, nLayers)]) {
    const t = file.tensors.get(n);
    if (t) return t;
  }
  return undefined;
}

export function configFromCheckpoint(file: SafetensorsFile, source: string, over: ConfigOverrides = {}): ModelConfig {
  const meta = file.metadata;
  if (meta.hcprobe_config) {
    try {
      const stored = JSON.parse(meta.hcprobe_config) as ModelConfig;
      const unknown = Object.keys(stored).filter((k) => !(k in MODEL_DEFAULTS));
      if (unknown.length > 0) throw new ConfigError(`${source}: metadata hcprobe_config has unknown keys: ${unknown.map((k) => shown(k)).join(', ')}`);
      return validateModelConfig({ ...MODEL_DEFAULTS, ...stored });
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new ConfigError(`${source}: metadata hcprobe_config is not valid JSON: ${shown(meta.hcprobe_config)}`);
    }
  }
  const wte = file.tensors.get('transformer.wte.weight') ?? file.tensors.get('lm_head.weight');
  const wpe = file.tensors.get('transformer.wpe.weight');
  if (!wte) throw new ConfigError(`${source}: missing tensor "transformer.wte.weight" (or "lm_head.weight")`);
  if (!wpe) throw new ConfigError(`${source}: missing tensor "transformer.wpe.weight"`);
  if (wte.shape.length !== 2 || wpe.shape.length !== 2) {
    throw new ConfigError(`${source}: embeddings must be 2-D, got wte [${wte.shape}] and wpe [${wpe.shape}]`);
  }
  const [vocabSize, dModel] = wte.shape as [number, number];
  let nLayers = 0;
  while (file.tensors.has(`transformer.h.${nLayers}.branch_attn.0.weight`) || file.tensors.has(`transformer.h.${nLayers}.hc_attn.branch.0.weight`)) nLayers++;
  if (nLayers === 0) throw new ConfigError(`${source}: missing tensor "transformer.h.0.branch_attn.0.weight": no transformer blocks found`);

  const nHeads = over.nHeads ?? intMeta(meta, 'n_head', source);
  if (nHeads === undefined) throw new ConfigError(`${source}: the number of heads is not in the metadata (n_head); pass --n-head`);

  const shapeKind = inferKind(file);
  const typeMeta = meta.hyper_conn_type;
  if (typeMeta !== undefined && !['none', 'hc', 'mhc', 'mhc_lite', 'mhc_lite_lss'].includes(typeMeta)) {
    throw new ConfigError(`${source}: unknown hyper_conn_type ${shown(typeMeta)} (expected none, hc, mhc, mhc_lite or mhc_lite_lss)`);
  }
  const metaKind = typeMeta === undefined ? undefined : fromHyperConnType(typeMeta as HyperConnType);
  const claimed = over.connection ?? metaKind;
  // The reference builds a plain residual for n = 1 whatever the type says.
  if (claimed && claimed !== shapeKind.kind && !(shapeKind.kind === 'residual' && intMeta(meta, 'hyper_conn_n', source) === 1)) {
    throw new ConfigError(`${source}: connection ${shown(claimed)} does not match the tensors, which hold a ${shapeKind.kind} model`);
  }
  const nStreams = shapeKind.n;
  const nMeta = over.nStreams ?? intMeta(meta, 'hyper_conn_n', source);
  if (nMeta !== undefined && nMeta !== nStreams && shapeKind.kind !== 'residual') {
    throw new ConfigError(`${source}: hyper_conn_n ${shown(nMeta)} does not match the tensors, which hold ${nStreams} streams`);
  }
  const connection: Connection =
    shapeKind.kind === 'residual' ? { kind: 'residual' }
    : shapeKind.kind === 'hc' ? { kind: 'hc', dynamic: shapeKind.dynamic, dynamicNorm: 'rms' }
    : shapeKind.kind === 'mhc' ? { kind: 'mhc', sinkhornIters: intMeta(meta, 'sinkhorn_iters', source) ?? 20 }
    : { kind: 'mhc-lite' };
  const streamInit: StreamInit =
    lookup(file, 'expand_stream.lss', nLayers) ? { kind: 'lss', center: Number(meta.expand_lss_init ?? 0.6) }
    : lookup(file, 'expand_stream.stream_embed', nLayers) ? { kind: 'stream-embed' }
    : lookup(file, 'expand_stream.noise', nLayers) ? { kind: 'noise', sigma: 0 }
    : { kind: 'copy' };
  return validateModelConfig({
    vocabSize,
    blockSize: wpe.shape[0] as number,
    nLayers,
    nHeads,
    dModel,
    bias: file.tensors.has('transformer.ln_f.bias'),
    nStreams,
    connection,
    streamInit,
    readStream: 'random', // the reference draws each module's init stream at random
  });
}

function intMeta(meta: Record<string, string>, key: string, source: string): number | undefined {
  const v = meta[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${source}: metadata ${key} must be a positive integer, got ${shown(v)}`);
  return n;
}

function fromHyperConnType(t: HyperConnType): Connection['kind'] {
  return t === 'none' ? 'residual' : t === 'hc' ? 'hc' : t === 'mhc' ? 'mhc' : 'mhc-lite';
}

export function hyperConnType(c: ModelConfig): HyperConnType {
  switch (c.connection.kind) {
    case 'residual':
      return 'none';
    case 'hc':
      return 'hc';
    case 'mhc':
      return 'mhc';
    case 'mhc-lite':
      return c.streamInit.kind === 'lss' ? 'mhc_lite_lss' : 'mhc_lite';
    case 'post-norm':
      return 'post_norm';
    case 'residual-dual':
      return 'residual_dual';
    case 'altup':
    case 'frac':
      return c.connection.kind;
  }
}

/** The connection kind and stream count that the first module's tensors imply. */
function inferKind(file: SafetensorsFile): { kind: Connection['kind']; n: number; dynamic: boolean } {
  const alpha = file.tensors.get('transformer.h.0.hc_attn.static_alpha');
  const beta = file.tensors.get('transformer.h.0.hc_attn.static_beta');
  if (!alpha || !beta) return { kind: 'residual', n: 1, dynamic: false };
  const n = beta.shape[0] ?? 0;
  const fn = file.tensors.get('transformer.h.0.hc_attn.dynamic_alpha_fn');
  if (alpha.shape.length === 1) return { kind: 'mhc-lite', n, dynamic: true };
  // mHC and HC differ in their scale parameters (for n = 1 their shapes coincide).
  if (file.tensors.has('transformer.h.0.hc_attn.pre_branch_scale')) return { kind: 'mhc', n, dynamic: true };
  return { kind: 'hc', n, dynamic: fn !== undefined };
}

/** Tensors of the reference's torch < 2 causal-mask buffer, which is not a parameter. */
function isMaskBuffer(name: string, t: StTensor): boolean {
  return /^transformer\.h\.\d+\.(branch_attn\.1|hc_attn\.branch\.1)\.bias$/.test(name) && t.shape.length === 4;
}

/** Loads the parameters `config` needs; every missing tensor or shape mismatch is a ConfigError. */
export function paramsFromCheckpoint(file: SafetensorsFile, c: ModelConfig, source: string): Params {
  const specs = paramSpecs(c, 0);
  const known = new Set<string>();
  const values: [ParamSpec, Float32Array][] = [];
  for (const spec of specs) {
    const t = lookup(file, spec.name, c.nLayers);
    if (!t) throw new ConfigError(`${source}: missing tensor ${shown(spec.name)} for a ${c.connection.kind} model with ${c.nStreams} streams`);
    if (t.shape.join() !== spec.shape.join()) {
      throw new ConfigError(`${source}: tensor ${shown(spec.name)} has shape [${t.shape}], expected [${spec.shape}]`);
    }
    if (!(t.data instanceof Float32Array)) throw new ConfigError(`${source}: tensor ${shown(spec.name)} has dtype ${t.dtype}, expected a float type`);
    values.push([spec, t.data]);
    for (const n of [spec.name, ...aliases(spec.name), ...layerAliases(spec.name, c.nLayers)]) known.add(n);
  }
  // A static HC model is written with zero dynamic weights, for the reference code to load.
  if (c.connection.kind === 'hc' && !c.connection.dynamic) for (const n of staticHcPadding(c).keys()) known.add(n);
  const unknown = [...file.tensors.entries()].filter(([n, t]) => !known.has(n) && !isMaskBuffer(n, t) && isModelTensor(n)).map(([n]) => n);
  if (unknown.length > 0) {
    throw new ConfigError(`${source}: tensors this ${c.connection.kind} model does not use: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', ...' : ''}`);
  }
  const params: Params = new Map();
  for (const [spec, data] of values) params.set(spec.name, ownedVariable(tf.tensor(data, spec.shape, 'float32'), spec.trainable));
  return params;
}

/** Names outside the model (optimizer state, data position) live under other prefixes. */
export function isModelTensor(name: string): boolean {
  return /^(transformer\.|lm_head\.|expand_stream\.)/.test(name);
}

/** Model tensors to write, aliases included, so that the reference code loads them. */
export function checkpointTensors(params: Params, c: ModelConfig): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const put = (name: string, shape: number[], data: Float32Array) => {
    out.set(name, { shape, data });
    for (const a of [...aliases(name), ...layerAliases(name, c.nLayers)]) out.set(a, { shape, data });
  };
  for (const [name, v] of params) put(name, v.shape, v.dataSync() as Float32Array);
  if (c.connection.kind === 'hc' && !c.connection.dynamic) for (const [n, t] of staticHcPadding(c)) put(n, t.shape, t.data);
  return out;
}

/** The reference HC is always dynamic: zero dynamic weights make it compute the static model. */
function staticHcPadding(c: ModelConfig): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const d = c.dModel;
  const n = c.nStreams;
  for (let l = 0; l < c.nLayers; l++) {
    for (const m of ['attn', 'mlp']) {
      const p = `transformer.h.${l}.hc_${m}`;
      out.set(`${p}.norm.gamma`, { shape: [d], data: new Float32Array(d) });
      out.set(`${p}.dynamic_alpha_fn`, { shape: [d, n + 1], data: new Float32Array(d * (n + 1)) });
      out.set(`${p}.dynamic_alpha_scale`, { shape: [], data: Float32Array.of(0.01) });
      out.set(`${p}.dynamic_beta_fn`, { shape: [d], data: new Float32Array(d) });
      out.set(`${p}.dynamic_beta_scale`, { shape: [], data: Float32Array.of(0.01) });
    }
  }
  return out;
}

/** `readStreams`: the stream each module read at init, when known (hcprobe runs know it). */
export function checkpointMetadata(c: ModelConfig, readStreams?: readonly number[]): Record<string, string> {
  return {
    format: 'hcprobe-checkpoint-1',
    hyper_conn_type: hyperConnType(c),
    hyper_conn_n: String(c.nStreams),
    n_head: String(c.nHeads),
    n_layer: String(c.nLayers),
    n_embd: String(c.dModel),
    vocab_size: String(c.vocabSize),
    block_size: String(c.blockSize),
    bias: String(c.bias),
    ...(c.connection.kind === 'mhc' ? { sinkhorn_iters: String(c.connection.sinkhornIters) } : {}),
    ...(c.streamInit.kind === 'lss' ? { expand_lss_init: String(c.streamInit.center) } : {}),
    ...(readStreams ? { read_streams: JSON.stringify(readStreams) } : {}),
    hcprobe_config: JSON.stringify(c),
  };
}

/** The init read streams a checkpoint records (metadata `read_streams`); undefined when absent. */
export function readStreamsOf(file: SafetensorsFile, c: ModelConfig, source: string): number[] | undefined {
  const raw = file.metadata.read_streams;
  if (raw === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${source}: metadata read_streams is not valid JSON: ${shown(raw)}`);
  }
  const ok = Array.isArray(v) && (v.length === 0 || v.length === 2 * c.nLayers) && v.every((s) => Number.isInteger(s) && s >= 0 && s < c.nStreams);
  if (!ok) throw new ConfigError(`${source}: metadata read_streams must list one stream in [0, ${c.nStreams}) per module (${2 * c.nLayers}), got ${shown(raw)}`);
  return v as number[];
}

