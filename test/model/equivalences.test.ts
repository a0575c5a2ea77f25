// Code paths that must agree (STYLE, Tests): HC with one stream at its static init is the plain
// residual model; hooked forwards equal unhooked ones; hook names round-trip; a forward and a
// backward leave tf.memory().numTensors unchanged.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.ts';
import { factorial } from '../../src/engine/permutations.ts';
import { tf, type Tensor } from '../../src/engine/tf.ts';
import { ConfigError } from '../../src/errors.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { type HookFn, type HookSite, type Hooks, hookName, parseHookName } from '../../src/model/hooks.ts';
import { disposeParams, initParams, type Params } from '../../src/model/params.ts';
import { forward, lossFn } from '../../src/model/transformer.ts';
import { KINDS, maxAbsDiff, perturb, randomTokens, tinyConfig } from './helpers.ts';

type Scalar = import('@tensorflow/tfjs').Scalar;

const B = 2;
const T = 5;

before(async () => {
  await initBackend('cpu');
});

function logitsOf(p: Params, c: ModelConfig, hooks?: Hooks): Float32Array {
  return tf.tidy(() => {
    const tokens = randomTokens(5, B, T, c.vocabSize);
    return forward(p, c, tokens, hooks ? { hooks } : {}).dataSync().slice() as Float32Array;
  });
}

/** Every hook site of a config: whole tensors and each stream of the stream-indexed ones. */
function allSites(c: ModelConfig): HookSite[] {
  const n = c.nStreams;
  const sites: HookSite[] = [{ kind: 'embed' }, { kind: 'pos_embed' }];
  const streams = <S extends HookSite>(site: S): HookSite[] => [site, ...Array.from({ length: n }, (_, s) => ({ ...site, stream: s }))];
  for (let layer = 0; layer < c.nLayers; layer++) {
    for (const kind of ['resid_pre', 'resid_mid', 'resid_post'] as const) sites.push(...streams({ kind, layer }));
    for (const module of ['attn', 'mlp'] as const) {
      sites.push({ kind: 'branch_in', layer, module }, { kind: 'branch_out', layer, module });
      if (c.connection.kind !== 'residual') {
        for (const kind of ['read', 'write', 'mixing'] as const) sites.push({ kind, layer, module });
      }
      if (c.connection.kind === 'mhc' || c.connection.kind === 'mhc-lite') sites.push({ kind: 'mixing_logits', layer, module });
    }
  }
  sites.push(...streams({ kind: 'ln_final' }));
  return sites;
}

function expectedShape(site: HookSite, c: ModelConfig): number[] {
  const { nStreams: n, dModel: d } = c;
  switch (site.kind) {
    case 'embed':
    case 'branch_in':
    case 'branch_out':
      return [B, T, d];
    case 'pos_embed':
      return [T, d];
    case 'resid_pre':
    case 'resid_mid':
    case 'resid_post':
    case 'ln_final':
      return site.stream === undefined ? [B, T, n, d] : [B, T, d];
    case 'read':
    case 'write':
      return [B, T, n];
    case 'mixing':
      return [B, T, n, n];
    case 'mixing_logits':
      return c.connection.kind === 'mhc-lite' ? [B, T, factorial(n)] : [B, T, n, n];
  }
}

test('hc with one stream at its static init computes the residual model, given the same weights', () => {
  const residual = tinyConfig({ kind: 'residual' }, 1);
  const res = initParams(residual, 11);
  perturb(res, 12);
  try {
    for (const dynamic of [false, true]) {
      const hc = tinyConfig({ kind: 'hc', dynamic, dynamicNorm: 'rms' }, 1);
      const p = initParams(hc, 13);
      try {
        let copied = 0;
        for (const [name, v] of res) {
          const target = p.get(name);
          assert.ok(target, `hc model lacks ${name}`);
          tf.tidy(() => target.assign(v.clone()));
          copied++;
        }
        assert.equal(copied, res.size);
        assert.ok(p.size > res.size, 'the hc model has its own connection parameters');
        const a = logitsOf(res, residual);
        const b = logitsOf(p, hc);
        // A_m = A_r = B = 1 and a zero dynamic part: every product is by 1, every sum adds 0.
        assert.equal(maxAbsDiff(a, b), 0, `dynamic ${dynamic}`);
      } finally {
        disposeParams(p);
      }
    }
  } finally {
    disposeParams(res);
  }
});

for (const { name, config } of KINDS) {
  test(`${name}: hooks that observe every site leave the logits exactly unchanged`, () => {
    const p = initParams(config, 21);
    perturb(p, 22);
    try {
      const plain = logitsOf(p, config);
      const sites = allSites(config);
      const seen = new Map<string, number[]>();
      let calls = 0;
      const observe: HookFn = (x, n) => {
        seen.set(n, x.shape);
        calls++;
      };
      const observed = logitsOf(p, config, new Map(sites.map((s) => [hookName(s), observe])));
      assert.equal(maxAbsDiff(plain, observed), 0);
      assert.deepEqual([...seen.keys()].sort(), sites.map(hookName).sort(), 'every site fires');
      assert.equal(calls, sites.length, 'each once');
      for (const site of sites) assert.deepEqual(seen.get(hookName(site)), expectedShape(site, config), hookName(site));

      const identity: HookFn = (x) => x;
      const same = logitsOf(p, config, new Map(sites.map((s) => [hookName(s), identity])));
      assert.equal(maxAbsDiff(plain, same), 0);
    } finally {
      disposeParams(p);
    }
  });
}

test('zeroing stream 2 at blocks.0.hook_resid_post[2] changes the logits and reaches blocks.1.hook_resid_pre', () => {
  const config = KINDS.find((k) => k.name === 'mhc-lite')?.config as ModelConfig;
  assert.ok(config.nStreams >= 3);
  const p = initParams(config, 31);
  perturb(p, 32);
  try {
    const capture = (store: Map<string, Float32Array>): HookFn => (x, n) => {
      store.set(n, x.dataSync().slice() as Float32Array);
    };
    const clean = new Map<string, Float32Array>();
    const cleanLogits = logitsOf(p, config, new Map([['blocks.1.hook_resid_pre', capture(clean)]]));

    const ablated = new Map<string, Float32Array>();
    const hooks = new Map<string, HookFn>([
      ['blocks.0.hook_resid_post', capture(ablated)], // runs before the stream hook of its site
      ['blocks.0.hook_resid_post[2]', (x) => tf.zerosLike(x)],
      ['blocks.1.hook_resid_pre', capture(ablated)],
      ['blocks.1.hook_resid_mid', capture(ablated)],
    ]);
    const ablatedLogits = logitsOf(p, config, hooks);
    assert.ok(maxAbsDiff(cleanLogits, ablatedLogits) > 1e-3, 'the ablation moves the logits');

    const { nStreams: n, dModel: d } = config;
    const stream = (data: Float32Array, s: number) => {
      const out: number[] = [];
      for (let bt = 0; bt < B * T; bt++) out.push(...data.subarray((bt * n + s) * d, (bt * n + s + 1) * d));
      return out;
    };
    const pre = ablated.get('blocks.1.hook_resid_pre') as Float32Array;
    const post = ablated.get('blocks.0.hook_resid_post') as Float32Array;
    const cleanPre = clean.get('blocks.1.hook_resid_pre') as Float32Array;
    assert.ok(stream(pre, 2).every((x) => x === 0), 'blocks.1.hook_resid_pre sees stream 2 zeroed');
    assert.ok(stream(post, 2).some((x) => x !== 0), 'the whole-tensor hook of the same site saw it before the ablation');
    for (const s of [0, 1]) assert.deepEqual(stream(pre, s), stream(cleanPre, s), `stream ${s} untouched`);
    // The attention module of layer 1 mixes streams: stream 2 is refilled by the next site.
    assert.ok(stream(ablated.get('blocks.1.hook_resid_mid') as Float32Array, 2).some((x) => x !== 0));
  } finally {
    disposeParams(p);
  }
});

test('a hook that returns a tensor of the wrong shape is an error naming the hook', () => {
  const config = KINDS[1]?.config as ModelConfig;
  const p = initParams(config, 41);
  try {
    const hooks = new Map<string, HookFn>([['blocks.0.hook_attn_out', (x) => tf.zeros([...x.shape, 1])]]);
    assert.throws(() => logitsOf(p, config, hooks), /blocks\.0\.hook_attn_out/);
  } finally {
    disposeParams(p);
  }
});

test('hook names round-trip through hookName and parseHookName for every site kind', () => {
  const sites: HookSite[] = [
    { kind: 'embed' },
    { kind: 'pos_embed' },
    { kind: 'resid_pre', layer: 0 },
    { kind: 'resid_mid', layer: 3, stream: 2 },
    { kind: 'resid_post', layer: 12, stream: 0 },
    { kind: 'resid_post', layer: 1 },
    { kind: 'branch_in', layer: 2, module: 'attn' },
    { kind: 'branch_out', layer: 0, module: 'mlp' },
    { kind: 'read', layer: 1, module: 'attn' },
    { kind: 'write', layer: 4, module: 'mlp' },
    { kind: 'mixing', layer: 10, module: 'attn' },
    { kind: 'mixing_logits', layer: 7, module: 'mlp' },
    { kind: 'ln_final' },
    { kind: 'ln_final', stream: 3 },
  ];
  const kinds = new Set(sites.map((s) => s.kind));
  assert.equal(kinds.size, 12, 'every HookSite kind is listed');
  for (const site of sites) {
    const name = hookName(site);
    assert.deepEqual(parseHookName(name), site, name);
    assert.equal(hookName(parseHookName(name)), name);
  }
  assert.equal(hookName({ kind: 'resid_post', layer: 3, stream: 2 }), 'blocks.3.hook_resid_post[2]');
  assert.equal(hookName({ kind: 'mixing', layer: 1, module: 'mlp' }), 'blocks.1.hc_mlp.hook_mixing');
  assert.equal(hookName({ kind: 'mixing_logits', layer: 1, module: 'attn' }), 'blocks.1.hc_attn.hook_mixing_logits');
  // Every name a real forward fires parses back to itself.
  for (const site of allSites(KINDS[4]?.config as ModelConfig)) assert.equal(hookName(parseHookName(hookName(site))), hookName(site));
});

test('parseHookName rejects junk with a ConfigError naming it', () => {
  for (const junk of [
    '',
    'hook_embed[0]',
    'blocks.x.hook_resid_pre',
    'blocks.0.hook_resid_pre[]',
    'blocks.0.hook_resid_pre[-1]',
    'blocks.0.hook_resid',
    'blocks.0.hook_attn_mid',
    'blocks.0.hc_attn.hook_foo',
    'blocks.0.hc_attn.hook_read[1]',
    ' blocks.0.hook_resid_pre',
    'ln_final.hook_normalized.x',
  ]) {
    assert.throws(() => parseHookName(junk), (e: unknown) => e instanceof ConfigError && e.message.includes(JSON.stringify(junk)), junk);
  }
});

for (const { name, config } of KINDS) {
  test(`${name}: a forward and a backward leave tf.memory().numTensors unchanged`, () => {
    const p = initParams(config, 51);
    perturb(p, 52);
    const tokens = randomTokens(53, B, T, config.vocabSize);
    const targets = randomTokens(54, B, T, config.vocabSize);
    const vars = [...p.values()].filter((v) => v.trainable);
    const hooks: Hooks = new Map<string, HookFn>([
      ['blocks.0.hook_resid_post', () => undefined],
      ['blocks.1.hook_resid_pre[0]', (x: Tensor) => tf.mul(x, 0.5)],
    ]);
    const fwd = () => tf.tidy(() => void forward(p, config, tokens, { hooks }).dataSync());
    const bwd = () => {
      const { value, grads } = tf.variableGrads(() => lossFn(p, config, tokens, targets) as Scalar, vars);
      value.dispose();
      tf.dispose(grads);
    };
    try {
      fwd();
      bwd(); // warm-up: tfjs creates its one-off tensors (e.g. cached constants) on first use
      const before = tf.memory().numTensors;
      fwd();
      assert.equal(tf.memory().numTensors, before, 'after a forward');
      bwd();
      assert.equal(tf.memory().numTensors, before, 'after a backward');
    } finally {
      disposeParams(p);
      tokens.dispose();
      targets.dispose();
    }
  });
}
