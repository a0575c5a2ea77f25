// The demo's plan against the CLI it drives: every stage names a registered command and only
// flags that command has, so a renamed command or flag fails here rather than ten minutes into a
// demo.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEMO_RUNS, demoPlan } from '../../cli/commands/demo.ts';
import { buildProgram } from '../../cli/main.ts';

test('demo stages: train, capture, diagnose, probe for each run; SAEs over seeds and the per-checkpoint analyses for the HC runs', () => {
  const plan = demoPlan('runs/demo', { steps: 240 });
  assert.deepEqual(plan.map((s) => s.label), [
    'train residual', 'capture residual', 'diagnose residual', 'probe residual',
    ...['mhc-lite-copy', 'mhc-lite-lss'].flatMap((r) => [
      `train ${r}`, `capture ${r}`, `diagnose ${r}`, `probe ${r}`, `sae ${r} (concat, seeds 0,1,2)`,
      `capture ${r} (every checkpoint)`, `diagnose ${r} (every checkpoint)`, `probe ${r} (every checkpoint)`, `sae ${r} (every checkpoint)`,
    ]),
  ]);
  assert.equal(DEMO_RUNS.length, 3);
  const capture = plan.find((s) => s.label === 'capture mhc-lite-copy');
  assert.ok(capture?.args.includes('acts/demo/mhc-lite-copy') || capture?.args.some((a) => a.endsWith('/acts/demo/mhc-lite-copy')), 'captures go to acts/demo/NAME');
});

test('every flag a demo stage passes is an option of its command', () => {
  const program = buildProgram(() => {});
  const commands = new Map(program.commands.map((c) => [c.name(), c]));
  for (const s of demoPlan('runs/demo', { steps: 240 })) {
    const cmd = commands.get(s.command);
    assert.ok(cmd, `the demo runs \`${s.command}\`, which the CLI does not register`);
    assert.equal(s.args[0], s.command);
    const flags = new Set(cmd.options.map((o) => o.long));
    for (const a of s.args.filter((x) => x.startsWith('--'))) assert.ok(flags.has(a), `${s.command} has ${a}`);
  }
});
