// `hcprobe sae` end to end on a small trained run (issue 6): all three modes write weights,
// cfg.json, metrics and dashboards that follow sae/results-schema.ts; bad input exits 2
// without touching earlier output.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../../src/capture/read.ts';
import { parseSaeFlags } from '../../cli/commands/sae.ts';
import type { FeatureDashboards, SaeMetricsFile, SaeSummary } from '../../sae/results-schema.ts';
import { cli, cliOk, smallCapture, tempDir } from './helpers.ts';

const read = <T>(p: string) => JSON.parse(fs.readFileSync(p, 'utf8')) as T;

test('hcprobe sae: per-stream, concat and summed; then bad input exits 2', async (t) => {
  const dir = tempDir(t);
  const acts = await smallCapture(dir);
  const out = path.join(dir, 'sae');
  const base = ['sae', '--acts', acts, '--out', out, '--tokens', '8192', '--batch', '512', '--expansion', '4', '--k', '8', '--eval-tokens', '512', '--features', '8', '--backend', 'wasm'];

  for (const mode of ['per-stream', 'concat', 'summed'] as const) {
    await t.test(mode, () => {
      cliOk([...base, '--mode', mode, '--layers', '1']);
      const summary = read<SaeSummary>(path.join(out, mode, 'summary.json'));
      assert.equal(summary.schema_version, 1);
      assert.equal(summary.saes.length, mode === 'per-stream' ? 4 : 1);
      for (const s of summary.saes) {
        const folder = path.join(out, mode, s.path);
        assert.deepEqual(fs.readdirSync(folder).sort(), ['cfg.json', 'dashboards.json', 'metrics.json', 'sae.safetensors']);
        const m = read<SaeMetricsFile>(path.join(folder, 'metrics.json'));
        assert.equal(m.schema_version, 1);
        assert.equal(m.d_in, mode === 'concat' ? 128 : 32);
        assert.equal(m.d_sae, m.d_in * 4);
        assert.ok((m.eval.ev as number) > 0.3 && (m.eval.ev as number) <= 1, `EV ${m.eval.ev}`);
        assert.ok(m.eval.l0 > 0 && m.eval.l0 <= 8);
        const ce = m.eval.ce;
        assert.ok(ce, m.eval.ce_note);
        assert.ok(ce.zero > ce.orig, 'zero ablation hurts');
        assert.ok(Number.isFinite(ce.sae) && ce.recovered !== null);
        assert.equal(m.attribution !== null, mode === 'concat');
        if (m.attribution) assert.ok(Math.abs(m.attribution.mean_shares.reduce((a, b) => a + b, 0) - 1) < 1e-9);
        assert.ok(m.labels.length > 0 && m.labels.every((l) => Math.abs(l.corr) <= 1 + 1e-9));
        assert.equal(m.labels.every((l) => (mode === 'summed' ? l.stream === null : typeof l.stream === 'number')), true);
        const cfg = read<Record<string, unknown>>(path.join(folder, 'cfg.json'));
        assert.equal(cfg.d_in, m.d_in);
        assert.equal(cfg.k, 8);
        assert.equal(cfg.hook_name, m.hook_name);
        const dash = read<FeatureDashboards>(path.join(folder, 'dashboards.json'));
        assert.ok(dash.features.length > 0 && dash.features.length <= 8);
        for (const f of dash.features) {
          assert.equal(f.histogram.length, dash.histogram_bins);
          assert.ok(f.contexts.length > 0);
          for (const c of f.contexts) {
            assert.equal(c.tokens.length, c.text.length);
            assert.ok(c.mark >= 0 && c.mark < c.tokens.length);
          }
        }
      }
      assert.equal(summary.planted.length, 1);
      assert.ok(summary.planted[0]?.matches.some((x) => x.label === 'pos'));
    });
  }

  const cases: { name: string; args: string[]; message: RegExp }[] = [
    { name: 'site not captured', args: [...base, '--site', 'resid_pre'], message: /--site "resid_pre" is not in this capture \(captured sites: resid_post, coeffs\)/ },
    { name: 'layer not captured', args: [...base, '--layers', '1,5'], message: /--layers: layer 5 is not in this capture/ },
    { name: 'k larger than the width', args: [...base, '--k', '200'], message: /--k 200 is larger than the SAE width 128/ },
    { name: 'unknown mode', args: [...base, '--mode', 'stacked'], message: /--mode must be one of per-stream, concat, summed, got "stacked"/ },
    { name: 'not a capture', args: [...base.slice(0, 1), '--acts', path.join(dir, 'nope'), ...base.slice(3)], message: /activations folder ".*nope" does not exist/ },
    { name: 'existing output without --force', args: [...base, '--mode', 'concat', '--layers', '1'], message: /output ".*concat" already exists; pass --force/ },
  ];
  const before = fs.readFileSync(path.join(out, 'concat', 'summary.json'), 'utf8');
  for (const c of cases) {
    await t.test(c.name, () => {
      const r = cli(c.args);
      assert.equal(r.status, 2, `exit code; stderr: ${r.stderr}`);
      assert.match(r.stderr, c.message);
    });
  }
  assert.equal(fs.readFileSync(path.join(out, 'concat', 'summary.json'), 'utf8'), before, 'refused runs left the output alone');

  await t.test('flags parse to typed options (pure)', () => {
    const m = readManifest(acts);
    const o = parseSaeFlags({ kind: 'relu', mode: 'concat' }, m);
    assert.deepEqual(o.act, { kind: 'relu', l1: 5 * Math.sqrt(128 / 512) });
    assert.deepEqual(o.layers, [0, 1]);
    assert.equal(o.module, 'mlp');
    assert.throws(() => parseSaeFlags({ kind: 'topk', k: '0' }, m), /--k must be an integer ≥ 1, got "0"/);
    // A TransformerLens hook name selects site, module and layer.
    const hooked = parseSaeFlags({ site: 'blocks.1.hook_resid_mid' }, m);
    assert.deepEqual([hooked.site, hooked.module, hooked.layers], ['resid_post', 'attn', [1]]);
    assert.throws(() => parseSaeFlags({ site: 'blocks.1.hook_resid_mid', module: 'mlp' }, m), /--module "mlp" contradicts --site "blocks.1.hook_resid_mid"/);
    assert.throws(() => parseSaeFlags({ site: 'blocks.1.hook_nothing' }, m), /--site: unknown site "blocks.1.hook_nothing"/);
  });
});
