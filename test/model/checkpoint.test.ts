// Checkpoints (docs/formats.md): written and read back they give the same config and identical logits;
// the reference's aliased names are written and accepted; malformed ones are ConfigErrors that
// name what is wrong; the torch < 2 causal-mask buffer is ignored.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { tf } from '../../src/engine/tf.ts';
import { ConfigError } from '../../src/errors.ts';
import {
  type ConfigOverrides,
  checkpointMetadata,
  checkpointTensors,
  configFromCheckpoint,
  paramsFromCheckpoint,
} from '../../src/model/checkpoint.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams, type Params } from '../../src/model/params.ts';
import { parseSafetensors, type SafetensorsFile, serializeSafetensors } from '../../src/io/safetensors.ts';
import { forward } from '../../src/model/transformer.ts';
import { KINDS, perturb, randomTokens } from './helpers.ts';

const SRC = 'ckpt.safetensors';

before(async () => {
  await initBackend('cpu');
});

function logitsOf(p: Params, c: ModelConfig): Float32Array {
  return tf.tidy(() => forward(p, c, randomTokens(9, 2, 5, c.vocabSize)).dataSync().slice() as Float32Array);
}

/** A model moved off init, written to safetensors bytes and parsed back. */
function written(config: ModelConfig, seed: number, dropMeta: string[] = []): { params: Params; file: SafetensorsFile } {
  const params = initParams(config, seed);
  perturb(params, seed + 1);
  const meta = checkpointMetadata(config);
  for (const k of dropMeta) delete meta[k];
  const file = parseSafetensors(serializeSafetensors(checkpointTensors(params, config), meta), SRC);
  return { params, file };
}

/** Loads a checkpoint and checks it computes exactly what `params` compute. */
function assertLoadsSame(file: SafetensorsFile, params: Params, config: ModelConfig, over: ConfigOverrides = {}): ModelConfig {
  const loadedConfig = configFromCheckpoint(file, SRC, over);
  const loaded = paramsFromCheckpoint(file, loadedConfig, SRC);
  try {
    assert.deepEqual(logitsOf(loaded, loadedConfig), logitsOf(params, config));
  } finally {
    disposeParams(loaded);
  }
  return loadedConfig;
}

/** Same file with some tensors removed, replaced or added. */
function edited(file: SafetensorsFile, edit: (t: SafetensorsFile['tensors']) => void, meta = file.metadata): SafetensorsFile {
  const tensors = new Map(file.tensors);
  edit(tensors);
  return { tensors, metadata: { ...meta } };
}

const throwsConfig = (fn: () => unknown, ...mentions: RegExp[]) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    for (const m of mentions) assert.match(e.message, m);
    return true;
  });

/** Reference-style metadata: no hcprobe_config, so the config comes from tensors and metadata. */
const REFERENCE_ONLY = ['hcprobe_config', 'format'];

for (const { name, config } of KINDS) {
  test(`${name}: round trip through safetensors gives the same config, parameters and logits`, () => {
    const { params, file } = written(config, 61);
    try {
      const loadedConfig = assertLoadsSame(file, params, config);
      assert.deepEqual(loadedConfig, config);
      const loaded = paramsFromCheckpoint(file, loadedConfig, SRC);
      try {
        assert.deepEqual([...loaded.keys()].sort(), [...params.keys()].sort());
        for (const [n, v] of params) {
          const w = loaded.get(n);
          assert.ok(w);
          assert.deepEqual(w.dataSync(), v.dataSync(), n);
          assert.equal(w.trainable, v.trainable, n);
        }
      } finally {
        disposeParams(loaded);
      }
    } finally {
      disposeParams(params);
    }
  });

  test(`${name}: read with reference metadata only, the config comes from the tensors`, () => {
    const { params, file } = written(config, 63, REFERENCE_ONLY);
    try {
      if (config.connection.kind === 'hc' && config.connection.dynamic && config.connection.dynamicNorm === 'layer') {
        // The reference has only the RMS norm, so the LayerNorm option cannot be told from tensors.
        const c = configFromCheckpoint(file, SRC);
        assert.deepEqual(c.connection, { kind: 'hc', dynamic: true, dynamicNorm: 'rms' });
        return;
      }
      const c = assertLoadsSame(file, params, config);
      assert.equal(c.connection.kind, config.connection.kind);
      assert.equal(c.nStreams, config.nStreams);
      assert.equal(c.streamInit.kind, config.streamInit.kind);
      assert.deepEqual(
        [c.vocabSize, c.blockSize, c.nLayers, c.nHeads, c.dModel, c.bias],
        [config.vocabSize, config.blockSize, config.nLayers, config.nHeads, config.dModel, config.bias],
      );
      // A static hc model is written as the reference's dynamic one with zero dynamic weights.
      if (config.connection.kind === 'hc') assert.deepEqual(c.connection, { kind: 'hc', dynamic: true, dynamicNorm: 'rms' });
    } finally {
      disposeParams(params);
    }
  });
}

test('the written file holds the reference aliases with the canonical values', () => {
  const config = KINDS.find((k) => k.name === 'mhc-lite lss')?.config as ModelConfig;
  const { params, file } = written(config, 71);
  try {
    const same = (a: string, b: string) => {
      const x = file.tensors.get(a);
      const y = file.tensors.get(b);
      assert.ok(x, `missing ${a}`);
      assert.ok(y, `missing ${b}`);
      assert.deepEqual(x.shape, y.shape);
      assert.deepEqual(x.data, y.data, `${a} = ${b}`);
    };
    same('transformer.wte.weight', 'lm_head.weight');
    same('transformer.h.0.branch_attn.0.weight', 'transformer.h.0.hc_attn.branch.0.weight');
    same('transformer.h.1.branch_mlp.1.c_fc.weight', 'transformer.h.1.hc_mlp.branch.1.c_fc.weight');
    same('expand_stream.lss', 'transformer.h.0.expand_stream.lss');
    same('expand_stream.lss', 'transformer.h.1.expand_stream.lss');
    assert.equal(file.metadata.hyper_conn_type, 'mhc_lite_lss');
    assert.equal(file.metadata.hyper_conn_n, '3');
    assert.equal(file.metadata.n_head, '2');
    // PyTorch Linear layout [out, in].
    assert.deepEqual(file.tensors.get('transformer.h.0.branch_attn.1.c_attn.weight')?.shape, [3 * config.dModel, config.dModel]);
  } finally {
    disposeParams(params);
  }
});

test('a checkpoint holding only the alias names still loads', () => {
  for (const kindName of ['residual', 'mhc-lite lss']) {
    const config = KINDS.find((k) => k.name === kindName)?.config as ModelConfig;
    for (const drop of [[], REFERENCE_ONLY]) {
      const { params, file } = written(config, 73, drop);
      try {
        const aliasOnly = edited(file, (t) => {
          for (const n of [...t.keys()]) if (/^transformer\.h\.\d+\.branch_/.test(n) || n === 'transformer.wte.weight' || n === 'expand_stream.lss') t.delete(n);
        });
        assert.ok(aliasOnly.tensors.has('transformer.h.0.hc_attn.branch.0.weight'));
        assert.ok(!aliasOnly.tensors.has('transformer.h.0.branch_attn.0.weight'));
        const c = assertLoadsSame(aliasOnly, params, config);
        assert.equal(c.streamInit.kind, config.streamInit.kind);
      } finally {
        disposeParams(params);
      }
    }
  }
});

test('malformed checkpoints are ConfigErrors that name the tensor or value', () => {
  // With biases, so that a missing bias tensor can be tested.
  const config = { ...(KINDS.find((k) => k.name === 'hc dynamic rms')?.config as ModelConfig), bias: true };
  const { params, file } = written(config, 81);
  const ref = edited(file, () => {}, Object.fromEntries(Object.entries(file.metadata).filter(([k]) => !REFERENCE_ONLY.includes(k))));
  const load = (f: SafetensorsFile, over: ConfigOverrides = {}) => {
    const p = paramsFromCheckpoint(f, configFromCheckpoint(f, SRC, over), SRC);
    disposeParams(p);
  };
  try {
    load(file);
    load(ref);
    const dropBoth = (t: SafetensorsFile['tensors'], n: string) => {
      t.delete(`transformer.h.1.branch_mlp.${n}`);
      t.delete(`transformer.h.1.hc_mlp.branch.${n}`);
    };
    for (const f of [file, ref]) {
      // Missing tensor.
      throwsConfig(() => load(edited(f, (t) => dropBoth(t, '1.c_fc.bias'))), /missing tensor/, /transformer\.h\.1\.branch_mlp\.1\.c_fc\.bias/, new RegExp(SRC.replace('.', '\\.')));
      throwsConfig(() => load(edited(f, (t) => t.delete('transformer.h.1.hc_attn.dynamic_beta_scale'))), /dynamic_beta_scale/);
      // Shape mismatch.
      const wrong = { dtype: 'F32' as const, shape: [4 * config.dModel, config.dModel + 1], data: new Float32Array(4 * config.dModel * (config.dModel + 1)) };
      throwsConfig(
        () => load(edited(f, (t) => {
          t.set('transformer.h.1.branch_mlp.1.c_fc.weight', wrong);
          t.set('transformer.h.1.hc_mlp.branch.1.c_fc.weight', wrong);
        })),
        /c_fc\.weight/,
        /\[32,9\]/,
        /\[32,8\]/,
      );
      // Unknown extra model tensor.
      throwsConfig(() => load(edited(f, (t) => t.set('transformer.h.0.hc_attn.extra_gate', { dtype: 'F32', shape: [3], data: new Float32Array(3) }))), /transformer\.h\.0\.hc_attn\.extra_gate/);
      // Non-float dtype.
      throwsConfig(
        () => load(edited(f, (t) => {
          const bias = { dtype: 'I32' as const, shape: [config.dModel], data: new Int32Array(config.dModel) };
          t.set('transformer.h.0.branch_attn.0.bias', bias);
          t.set('transformer.h.0.hc_attn.branch.0.bias', bias);
        })),
        /transformer\.h\.0\.branch_attn\.0\.bias/,
        /I32/,
      );
    }
    // Optimizer state and other non-model tensors may sit beside the model.
    load(edited(file, (t) => t.set('optimizer.step', { dtype: 'F32', shape: [], data: Float32Array.of(3) })));
    // Metadata that contradicts the tensors (the reference names the kind hyper_conn_type).
    throwsConfig(() => load(edited(ref, () => {}, { ...ref.metadata, hyper_conn_type: 'mhc' })), /"mhc"/, /hc model/);
    throwsConfig(() => load(edited(ref, () => {}, { ...ref.metadata, hyper_conn_n: '4' })), /hyper_conn_n/, /4/);
    throwsConfig(() => load(ref, { connection: 'mhc-lite' }), /"mhc-lite"/);
    throwsConfig(() => load(edited(ref, () => {}, { ...ref.metadata, hyper_conn_type: 'hyper' })), /unknown hyper_conn_type/, /"hyper"/);
    // Our own full config that contradicts the tensors.
    const mhcConfig = JSON.stringify({ ...config, connection: { kind: 'mhc', sinkhornIters: 20 } });
    throwsConfig(() => load(edited(file, () => {}, { ...file.metadata, hcprobe_config: mhcConfig })), /transformer\.h\.0\.hc_attn\./);
    throwsConfig(() => load(edited(file, () => {}, { ...file.metadata, hcprobe_config: '{not json' })), /hcprobe_config/);
    // The number of heads cannot be read from shapes.
    const { n_head: _drop, ...noHeads } = ref.metadata;
    throwsConfig(() => load(edited(ref, () => {}, noHeads)), /n_head/);
    load(edited(ref, () => {}, noHeads), { nHeads: 2 });
    throwsConfig(() => load(edited(ref, () => {}, noHeads), { nHeads: 3 }), /dModel \(8\).*nHeads \(3\)/);
  } finally {
    disposeParams(params);
  }
});

test("the torch < 2 causal-mask buffer is ignored, a real stray 'bias' is not", () => {
  const config = KINDS.find((k) => k.name === 'mhc-lite')?.config as ModelConfig;
  const T = config.blockSize;
  const mask = { dtype: 'F32' as const, shape: [1, 1, T, T], data: Float32Array.from({ length: T * T }, (_, i) => (i % T <= Math.floor(i / T) ? 1 : 0)) };
  for (const drop of [[], REFERENCE_ONLY]) {
    const { params, file } = written(config, 91, drop);
    try {
      const withMask = edited(file, (t) => {
        for (let l = 0; l < config.nLayers; l++) {
          t.set(`transformer.h.${l}.branch_attn.1.bias`, mask);
          t.set(`transformer.h.${l}.hc_attn.branch.1.bias`, mask);
        }
      });
      assertLoadsSame(withMask, params, config);
      const stray = edited(file, (t) => t.set('transformer.h.0.branch_attn.1.bias', { dtype: 'F32', shape: [8], data: new Float32Array(8) }));
      throwsConfig(() => disposeParams(paramsFromCheckpoint(stray, configFromCheckpoint(stray, SRC), SRC)), /transformer\.h\.0\.branch_attn\.1\.bias/);
    } finally {
      disposeParams(params);
    }
  }
});
