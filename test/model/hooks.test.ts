// Hook names: the exact ordered list a forward emits for each connection kind (2 layers),
// written out, and parseHookName as the inverse of hookName on every one of them. Hooks on A_m
// and A_r that observe leave the logits as they were; one that replaces them is obeyed.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { tf } from '../../src/engine/tf.ts';
import { ConfigError } from '../../src/errors.ts';
import type { Connection, ConnectionKind } from '../../src/model/config.ts';
import { type HookFn, hookName, parseHookName } from '../../src/model/hooks.ts';
import { disposeParams, initParams } from '../../src/model/params.ts';
import { forward } from '../../src/model/transformer.ts';
import { perturb, randomTokens, tinyConfig } from './helpers.ts';

before(async () => {
  await initBackend('cpu');
});

const RESIDUAL = [
  'hook_embed', 'hook_pos_embed',
  'blocks.0.hook_resid_pre', 'blocks.0.hook_resid_pre[0]',
  'blocks.0.hook_attn_in', 'blocks.0.hook_attn_out',
  'blocks.0.hook_resid_mid', 'blocks.0.hook_resid_mid[0]',
  'blocks.0.hook_mlp_in', 'blocks.0.hook_mlp_out',
  'blocks.0.hook_resid_post', 'blocks.0.hook_resid_post[0]',
  'blocks.1.hook_resid_pre', 'blocks.1.hook_resid_pre[0]',
  'blocks.1.hook_attn_in', 'blocks.1.hook_attn_out',
  'blocks.1.hook_resid_mid', 'blocks.1.hook_resid_mid[0]',
  'blocks.1.hook_mlp_in', 'blocks.1.hook_mlp_out',
  'blocks.1.hook_resid_post', 'blocks.1.hook_resid_post[0]',
  'ln_final.hook_normalized', 'ln_final.hook_normalized[0]',
];

/** hc, mhc and mhc-lite with 2 streams: B is computed (and hooked) before A_m and A_r. */
const HYPER = [
  'hook_embed', 'hook_pos_embed',
  'blocks.0.hook_resid_pre', 'blocks.0.hook_resid_pre[0]', 'blocks.0.hook_resid_pre[1]',
  'blocks.0.hc_attn.hook_write', 'blocks.0.hc_attn.hook_read', 'blocks.0.hc_attn.hook_mixing',
  'blocks.0.hook_attn_in', 'blocks.0.hook_attn_out',
  'blocks.0.hook_resid_mid', 'blocks.0.hook_resid_mid[0]', 'blocks.0.hook_resid_mid[1]',
  'blocks.0.hc_mlp.hook_write', 'blocks.0.hc_mlp.hook_read', 'blocks.0.hc_mlp.hook_mixing',
  'blocks.0.hook_mlp_in', 'blocks.0.hook_mlp_out',
  'blocks.0.hook_resid_post', 'blocks.0.hook_resid_post[0]', 'blocks.0.hook_resid_post[1]',
  'blocks.1.hook_resid_pre', 'blocks.1.hook_resid_pre[0]', 'blocks.1.hook_resid_pre[1]',
  'blocks.1.hc_attn.hook_write', 'blocks.1.hc_attn.hook_read', 'blocks.1.hc_attn.hook_mixing',
  'blocks.1.hook_attn_in', 'blocks.1.hook_attn_out',
  'blocks.1.hook_resid_mid', 'blocks.1.hook_resid_mid[0]', 'blocks.1.hook_resid_mid[1]',
  'blocks.1.hc_mlp.hook_write', 'blocks.1.hc_mlp.hook_read', 'blocks.1.hc_mlp.hook_mixing',
  'blocks.1.hook_mlp_in', 'blocks.1.hook_mlp_out',
  'blocks.1.hook_resid_post', 'blocks.1.hook_resid_post[0]', 'blocks.1.hook_resid_post[1]',
  'ln_final.hook_normalized', 'ln_final.hook_normalized[0]', 'ln_final.hook_normalized[1]',
];

/**
 * mhc and mhc-lite: as HYPER, with A_r's logits before the constraint hooked first, inside the
 * coefficients (blocks.l.hc_m.hook_mixing_logits), ahead of B, A_m and A_r. hc has no constraint.
 */
const CONSTRAINED = HYPER.flatMap((name) => (name.endsWith('.hook_write') ? [name.replace('hook_write', 'hook_mixing_logits'), name] : [name]));

const GOLDEN: { kind: ConnectionKind; connection: Connection; nStreams: number; names: string[] }[] = [
  { kind: 'residual', connection: { kind: 'residual' }, nStreams: 1, names: RESIDUAL },
  { kind: 'hc', connection: { kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, nStreams: 2, names: HYPER },
  { kind: 'mhc', connection: { kind: 'mhc', sinkhornIters: 20 }, nStreams: 2, names: CONSTRAINED },
  { kind: 'mhc-lite', connection: { kind: 'mhc-lite' }, nStreams: 2, names: CONSTRAINED },
];

/**
 * Hooks that claim every name, so that the forward offers each name it has (stream slices
 * included) and the order of the offers is recorded; one entry keeps the map non-empty.
 */
class RecordEveryName extends Map<string, HookFn> {
  readonly seen: string[] = [];
  constructor() {
    super([['', () => undefined]]);
  }
  override has(_name: string): boolean {
    return true;
  }
  override get(name: string): HookFn {
    return () => void this.seen.push(name);
  }
}

for (const g of GOLDEN) {
  test(`${g.kind}: a forward emits exactly the golden hook names, in order`, () => {
    const config = tinyConfig(g.connection, g.nStreams);
    const p = initParams(config, 3);
    const hooks = new RecordEveryName();
    try {
      tf.tidy(() => void forward(p, config, tf.zeros([2, 3], 'int32'), { hooks }));
    } finally {
      disposeParams(p);
    }
    assert.deepEqual(hooks.seen, g.names);
  });
}

test('parseHookName inverts hookName on every golden name, and hookName on every parsed site', () => {
  for (const name of [...RESIDUAL, ...CONSTRAINED]) {
    const site = parseHookName(name);
    assert.equal(hookName(site), name);
    assert.deepEqual(parseHookName(hookName(site)), site, name);
  }
  assert.deepEqual(parseHookName('blocks.12.hc_mlp.hook_mixing'), { kind: 'mixing', layer: 12, module: 'mlp' });
  assert.deepEqual(parseHookName('blocks.3.hook_resid_mid[2]'), { kind: 'resid_mid', layer: 3, stream: 2 });
  assert.deepEqual(parseHookName('blocks.12.hc_mlp.hook_mixing_logits'), { kind: 'mixing_logits', layer: 12, module: 'mlp' });
  assert.deepEqual(parseHookName('blocks.0.hc_attn.hook_mixing_logits'), { kind: 'mixing_logits', layer: 0, module: 'attn' });
});

test('parseHookName refuses a name that hookName would not write, naming it', () => {
  for (const name of ['blocks.01.hook_resid_pre', 'blocks.0.hook_resid_pre[02]', 'blocks.0.hook_attn_in[0]', 'blocks.0.hc_mlp.hook_read[1]', 'hook_pos_embed[0]', 'blocks.0.hook_embed', 'blocks.0.hc_ffn.hook_read', 'blocks.0.hc_attn.hook_mixing_logits[0]', 'blocks.0.hook_mixing_logits', 'blocks.0.hc_attn.hook_logits']) {
    assert.throws(() => parseHookName(name), (e: unknown) => e instanceof ConfigError && e.message.includes(JSON.stringify(name)), name);
  }
});

const COEFFICIENT_KINDS: Connection[] = [...GOLDEN.filter((x) => x.kind !== 'residual').map((x) => x.connection), { kind: 'frac', dynamic: true, dynamicNorm: 'rms' }];

for (const connection of COEFFICIENT_KINDS) {
  test(`${connection.kind}: hooks on A_m and A_r that observe change nothing; replacing hooks are obeyed`, () => {
    const config = tinyConfig(connection, connection.kind === 'frac' ? 2 : 3);
    const p = initParams(config, 5);
    perturb(p, 6);
    const tokens = randomTokens(7, 2, 5, config.vocabSize);
    const logits = (hooks?: Map<string, HookFn>) => tf.tidy(() => forward(p, config, tokens, hooks ? { hooks } : {}).dataSync().slice());
    const names = ['blocks.0.hc_attn.hook_read', 'blocks.1.hc_mlp.hook_mixing'];
    try {
      const plain = logits();
      assert.deepEqual(logits(new Map(names.map((n) => [n, () => undefined]))), plain, 'observing');
      assert.deepEqual(logits(new Map(names.map((n) => [n, (x) => tf.add(x, 0)]))), plain, 'the same values, as new tensors');
      for (const name of names) {
        const changed = logits(new Map([[name, (x: Parameters<HookFn>[0]) => tf.mul(x, 0.5)]]));
        const diff = Math.max(...changed.map((v, i) => Math.abs(v - (plain[i] as number))));
        assert.ok(diff > 1e-4, `${name} halved: the logits moved by ${diff}`);
      }
    } finally {
      disposeParams(p);
      tokens.dispose();
    }
  });
}
