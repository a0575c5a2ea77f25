// The one owner of the capture-site vocabulary (src/capture/schema.ts): site ↔ hook maps that
// agree with SITE_SEMANTICS and with each other, the key-order-free model hash, and the pure
// parsing of --sites/--hooks lists that take both site names and hook names.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { parseCaptureSelection } from '../../cli/commands/capture.ts';
import { parseProbeArgs } from '../../cli/commands/probe.ts';
import { parseSiteList } from '../../cli/parse.ts';
import {
  CAPTURE_SITES, isModelHash, modelHash, sameTensorAs, SITE_SEMANTICS, siteHook, siteOfHook, siteSources, STREAM_SITES,
} from '../../src/capture/schema.ts';
import { ConfigError } from '../../src/errors.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { parseHookName } from '../../src/model/hooks.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const MODULES = ['attn', 'mlp'] as const;

test('siteHook names the hooks SITE_SEMANTICS promises, and siteOfHook leads back to them', () => {
  for (const site of ['resid_pre', 'resid_post'] as const) {
    for (const module of MODULES) {
      const hook = siteHook(site, 7, module) as string;
      assert.ok(SITE_SEMANTICS[site].includes(`${module}: ${hook.replace('blocks.7.', 'blocks.l.')}`), `${site} ${module}: ${hook}`);
      assert.equal(siteHook(site, 7, module, 2), `${hook}[2]`);
      const back = siteOfHook(parseHookName(hook));
      assert.ok(back);
      assert.equal(siteHook(back.site, back.layer, back.module), hook);
    }
  }
  assert.deepEqual(siteOfHook(parseHookName('blocks.1.hook_resid_mid')), { site: 'resid_post', layer: 1, module: 'attn' });
  for (const site of ['branch_in', 'branch_out', 'coeffs'] as const) assert.equal(siteHook(site, 0, 'attn'), null);
  for (const name of ['hook_embed', 'hook_pos_embed', 'ln_final.hook_normalized']) assert.equal(siteOfHook(parseHookName(name)), null);
});

test('siteSources: the hooks each site is computed from', () => {
  assert.deepEqual(siteSources('resid_pre', 1, 'mlp'), { tensor: 'blocks.1.hook_resid_mid', scale: null, coeffs: [] });
  assert.deepEqual(siteSources('resid_post', 1, 'mlp'), { tensor: 'blocks.1.hook_resid_post', scale: null, coeffs: [] });
  assert.deepEqual(siteSources('branch_in', 1, 'attn'), { tensor: 'blocks.1.hook_resid_pre', scale: 'blocks.1.hc_attn.hook_read', coeffs: [] });
  assert.deepEqual(siteSources('branch_out', 0, 'mlp'), { tensor: 'blocks.0.hook_mlp_out', scale: 'blocks.0.hc_mlp.hook_write', coeffs: [] });
  assert.deepEqual(siteSources('coeffs', 2, 'attn'), {
    tensor: null, scale: null,
    coeffs: [{ column: 'read', hook: 'blocks.2.hc_attn.hook_read' }, { column: 'mixing', hook: 'blocks.2.hc_attn.hook_mixing' }, { column: 'write', hook: 'blocks.2.hc_attn.hook_write' }],
  });
  // Each branch hook is the site its columns decompose.
  for (const site of ['branch_in', 'branch_out'] as const) for (const module of MODULES) {
    assert.deepEqual(siteOfHook(parseHookName(`blocks.3.hook_${module}_${site === 'branch_in' ? 'in' : 'out'}`)), { site, layer: 3, module });
  }
  assert.deepEqual([...CAPTURE_SITES], [...STREAM_SITES, 'coeffs']);
});

test('sameTensorAs: resid_pre of the mlp is resid_post of attn; of layer l, resid_post of layer l − 1', () => {
  assert.deepEqual(sameTensorAs({ site: 'resid_pre', layer: 2, module: 'mlp' }), { site: 'resid_post', layer: 2, module: 'attn' });
  assert.equal(siteHook('resid_pre', 2, 'mlp'), siteHook('resid_post', 2, 'attn'));
  assert.deepEqual(sameTensorAs({ site: 'resid_pre', layer: 2, module: 'attn' }), { site: 'resid_post', layer: 1, module: 'mlp' });
  assert.equal(sameTensorAs({ site: 'resid_pre', layer: 0, module: 'attn' }), undefined);
  assert.equal(sameTensorAs({ site: 'resid_post', layer: 1, module: 'mlp' }), undefined);
});

const CONFIG: ModelConfig = {
  vocabSize: 16, blockSize: 8, nLayers: 2, nHeads: 2, dModel: 8, bias: false, nStreams: 2,
  connection: { kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, streamInit: { kind: 'lss', center: 0.6 }, readStream: 'random',
};
/** The same config with its keys, and its nested objects' keys, in another order. */
const REORDERED = {
  streamInit: { center: 0.6, kind: 'lss' }, readStream: 'random', connection: { dynamicNorm: 'rms', kind: 'hc', dynamic: true },
  nStreams: 2, bias: false, dModel: 8, nHeads: 2, nLayers: 2, blockSize: 8, vocabSize: 16,
} as ModelConfig;

test('modelHash ignores key order, recursively, and is sha256 of the sorted-key JSON', () => {
  assert.notEqual(JSON.stringify(CONFIG), JSON.stringify(REORDERED));
  assert.equal(modelHash(REORDERED), modelHash(CONFIG));
  const sorted = '{"bias":false,"blockSize":8,"connection":{"dynamic":true,"dynamicNorm":"rms","kind":"hc"},"dModel":8,"nHeads":2,"nLayers":2,"nStreams":2,"readStream":"random","streamInit":{"center":0.6,"kind":"lss"},"vocabSize":16}';
  assert.equal(modelHash(CONFIG), sha256(sorted));
  assert.notEqual(modelHash({ ...CONFIG, nStreams: 3 }), modelHash(CONFIG));
  assert.notEqual(modelHash({ ...CONFIG, connection: { kind: 'hc', dynamic: false, dynamicNorm: 'rms' } }), modelHash(CONFIG));
});

test('isModelHash accepts the sorted-key hash and the hash older captures wrote, nothing else', () => {
  assert.ok(isModelHash(REORDERED, modelHash(CONFIG)));
  assert.ok(isModelHash(CONFIG, sha256(JSON.stringify(CONFIG))), 'a capture written before sorted keys');
  assert.ok(!isModelHash({ ...CONFIG, dModel: 16 }, modelHash(CONFIG)));
  assert.ok(!isModelHash({ ...CONFIG, dModel: 16 }, sha256(JSON.stringify(CONFIG))));
});

const refuses = (f: () => unknown, value: string, message?: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof ConfigError && e.message.includes(JSON.stringify(value)) && (!message || message.test(e.message)), value);

test('parseSiteList takes site names and hook names; refuses the rest, naming the value', () => {
  assert.deepEqual(parseSiteList('--sites', 'resid_post, coeffs', CAPTURE_SITES), [{ value: 'resid_post', site: 'resid_post' }, { value: 'coeffs', site: 'coeffs' }]);
  assert.deepEqual(parseSiteList('--sites', 'blocks.1.hook_resid_mid,blocks.0.hook_resid_pre,blocks.1.hook_mlp_in,blocks.0.hc_mlp.hook_write', CAPTURE_SITES), [
    { value: 'blocks.1.hook_resid_mid', site: 'resid_post', layer: 1, module: 'attn' },
    { value: 'blocks.0.hook_resid_pre', site: 'resid_pre', layer: 0, module: 'attn' },
    { value: 'blocks.1.hook_mlp_in', site: 'branch_in', layer: 1, module: 'mlp' },
    { value: 'blocks.0.hc_mlp.hook_write', site: 'coeffs', layer: 0, module: 'mlp' },
  ]);
  refuses(() => parseSiteList('--sites', 'resid_post,resid_middle', CAPTURE_SITES), 'resid_middle', /^--sites: unknown site "resid_middle" \(expected resid_pre, resid_post, branch_in, branch_out, coeffs, or a hook name/);
  refuses(() => parseSiteList('--sites', 'resid_post,', CAPTURE_SITES), '');
  refuses(() => parseSiteList('--hooks', 'blocks.1.hook_resid_post[2]', CAPTURE_SITES), 'blocks.1.hook_resid_post[2]', /^--hooks: .*captures hold every stream: give "blocks\.1\.hook_resid_post"/);
  refuses(() => parseSiteList('--sites', 'hook_embed', CAPTURE_SITES), 'hook_embed', /not a capture site/);
  refuses(() => parseSiteList('--sites', 'blocks.01.hook_resid_post', CAPTURE_SITES), 'blocks.01.hook_resid_post');
  refuses(() => parseSiteList('--sites', 'coeffs', STREAM_SITES), 'coeffs');
  refuses(() => parseSiteList('--sites', 'blocks.0.hc_attn.hook_mixing', STREAM_SITES), 'blocks.0.hc_attn.hook_mixing', /is site coeffs/);
});

test('capture --sites/--hooks/--layers: a hook name adds its site and layer; no layer named means all', () => {
  assert.deepEqual(parseCaptureSelection({}, 3), { sites: ['resid_post', 'coeffs'], layers: [0, 1, 2] });
  assert.deepEqual(parseCaptureSelection({ sites: 'resid_pre,branch_out' }, 2), { sites: ['resid_pre', 'branch_out'], layers: [0, 1] });
  assert.deepEqual(parseCaptureSelection({ sites: 'blocks.1.hook_resid_post,blocks.1.hook_resid_mid' }, 3), { sites: ['resid_post'], layers: [1] });
  assert.deepEqual(parseCaptureSelection({ hooks: 'blocks.2.hook_attn_out,coeffs', layers: '0' }, 3), { sites: ['branch_out', 'coeffs'], layers: [0, 2] });
  refuses(() => parseCaptureSelection({ sites: 'resid_post', hooks: 'coeffs' }, 2), 'coeffs', /--hooks is another name for --sites/);
  refuses(() => parseCaptureSelection({ hooks: 'blocks.2.hook_resid_post' }, 2), 'blocks.2.hook_resid_post', /^--hooks: .* names layer 2, which is out of range \(the model has 2 layers: 0 to 1\)/);
  assert.throws(() => parseCaptureSelection({ layers: '0,7' }, 2), /^ConfigError: --layers: layer 7 is out of range \(the model has 2 layers/);
});

test('probe --sites: hook names select site, layer and module; --layers and --modules add to them', () => {
  const base = { acts: 'a', out: 'o' };
  const all = parseProbeArgs(base);
  assert.deepEqual([all.sites, all.layers, all.modules], [undefined, undefined, ['attn', 'mlp']]);
  const one = parseProbeArgs({ ...base, sites: 'blocks.1.hook_resid_mid' });
  assert.deepEqual([one.sites, one.layers, one.modules], [['resid_post'], [1], ['attn']]);
  const mixed = parseProbeArgs({ ...base, sites: 'branch_in,blocks.2.hook_mlp_out', layers: '0', modules: 'attn' });
  assert.deepEqual([mixed.sites, mixed.layers, mixed.modules], [['branch_in', 'branch_out'], [0, 2], ['attn', 'mlp']]);
  refuses(() => parseProbeArgs({ ...base, sites: 'coeffs' }), 'coeffs');
  refuses(() => parseProbeArgs({ ...base, sites: 'blocks.0.hook_resid_pre[1]' }), 'blocks.0.hook_resid_pre[1]');
});
