// AdamW's decay / no-decay split of parameter names equals the reference code's own split
// (GPT.configure_optimizers, read back from its param_groups by test/fixtures/make_train_parity.py)
// for every connection kind, stream count and bias setting in the fixture.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { type Connection, MODEL_DEFAULTS, type StreamInit, validateModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams, paramSpecs } from '../../src/model/params.ts';
import { optimizerGroups } from '../../src/train/optimizer.ts';

interface GroupCase {
  hyper_conn_type: 'none' | 'hc' | 'mhc' | 'mhc_lite' | 'mhc_lite_lss';
  hyper_conn_n: number;
  bias: boolean;
  decay: string[];
  no_decay: string[];
  shapes: Record<string, number[]>;
}

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'train-parity', 'optimizer-groups.json');
const cases = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { cases: Record<string, GroupCase> }).cases;

before(async () => {
  await initBackend('cpu');
});

function connectionOf(t: GroupCase['hyper_conn_type']): Connection {
  if (t === 'none') return { kind: 'residual' };
  if (t === 'hc') return { kind: 'hc', dynamic: true, dynamicNorm: 'rms' };
  if (t === 'mhc') return { kind: 'mhc', sinkhornIters: 20 };
  return { kind: 'mhc-lite' };
}

test('the fixture covers every reference kind with and without biases', () => {
  const kinds = new Set(Object.values(cases).map((c) => `${c.hyper_conn_type}/${c.bias}`));
  for (const t of ['none', 'hc', 'mhc', 'mhc_lite', 'mhc_lite_lss']) for (const b of [true, false]) assert.ok(kinds.has(`${t}/${b}`), `${t} bias ${b}`);
});

for (const [name, rc] of Object.entries(cases)) {
  test(`optimizer groups equal the reference's: ${name}`, () => {
    const connection = connectionOf(rc.hyper_conn_type);
    const streamInit: StreamInit = rc.hyper_conn_type === 'mhc_lite_lss' ? { kind: 'lss', center: 0.6 } : { kind: 'copy' };
    const c = validateModelConfig({
      ...MODEL_DEFAULTS,
      vocabSize: 64,
      blockSize: 16,
      nLayers: 2,
      nHeads: 2,
      dModel: 32,
      bias: rc.bias,
      nStreams: connection.kind === 'residual' ? 1 : rc.hyper_conn_n,
      connection,
      streamInit,
    });
    const params = initParams(c, 1);
    try {
      const groups = optimizerGroups(params, paramSpecs(c, 1));
      assert.deepEqual([...groups.decay].sort(), [...rc.decay].sort());
      assert.deepEqual([...groups.noDecay].sort(), [...rc.no_decay].sort());
      for (const [n, shape] of Object.entries(rc.shapes)) assert.deepEqual(params.get(n)?.shape, shape, n);
    } finally {
      disposeParams(params);
    }
  });
}
