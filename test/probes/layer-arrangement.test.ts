// Layer arrangement on hand-written unfolded matrices with known answers: a plain residual
// network and a pure chain are sequential; modules on separate streams run in parallel; a block
// of three that never read each other is one parallel block; later modules that ignore the
// embedding eliminate it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerArrangement, PARALLEL_THRESHOLD } from '../../probes/layer-arrangement.ts';
import { unfoldedConnections } from '../../src/stats/unfolded.ts';

const MODULES = ['0.attn', '0.mlp', '1.attn', '1.mlp'];

/** An unfolded record from a lower-triangular matrix given row by row (entries j < k). */
function unfolded(rows: number[][], embed: number[]) {
  const K = rows.length;
  return { modules: MODULES.slice(0, K), matrix: rows.map((r) => Array.from({ length: K }, (_, j) => r[j] ?? 0)), embed, output: new Array<number>(K).fill(1) };
}

test('a plain residual network (every entry 1) is sequential throughout and keeps its embedding', () => {
  const a = layerArrangement(unfolded([[], [1], [1, 1], [1, 1, 1]], [1, 1, 1, 1]));
  assert.deepEqual(a.pairs.map((p) => p.arrangement), ['sequential', 'sequential', 'sequential']);
  for (const p of a.pairs) assert.ok(Math.abs(p.relative - 1) < 1e-12, `${p.reader}: ${p.relative}`);
  assert.deepEqual(a.pairs.map((p) => p.share), [1 / 2, 1 / 3, 1 / 4]);
  assert.deepEqual(a.parallel_blocks, []);
  assert.equal(a.embed_eliminated_from, null);
  assert.match(a.sentences[0] as string, /sequential/);
});

test('a pure chain (each module reads only its predecessor) is sequential and eliminates the embedding at once', () => {
  const a = layerArrangement(unfolded([[], [1], [0, 1], [0, 0, 1]], [1, 0, 0, 0]));
  assert.deepEqual(a.pairs.map((p) => p.arrangement), ['sequential', 'sequential', 'sequential']);
  assert.deepEqual(a.pairs.map((p) => p.share), [1, 1, 1]);
  assert.equal(a.embed_eliminated_from, '0.mlp');
  assert.ok(a.sentences.some((s) => s.includes('Input embedding elimination: from L0 mlp on')));
});

test('modules on separate streams run in parallel (coefficients → unfolded → arrangement)', () => {
  // Two streams, identity mixing. L0 attn reads and writes stream 0; L0 mlp reads and writes stream 1,
  // so it never sees attn's output; L1 attn reads both.
  const I = [[1, 0], [0, 1]];
  const u = unfoldedConnections([
    { read: [1, 0], mixing: I, write: [1, 0] },
    { read: [0, 1], mixing: I, write: [0, 1] },
    { read: [0.5, 0.5], mixing: I, write: [1, 1] },
  ]);
  const a = layerArrangement({ modules: MODULES.slice(0, 3), ...u });
  assert.deepEqual(a.pairs.map((p) => p.arrangement), ['parallel', 'sequential']);
  assert.equal(a.pairs[0]?.weight, 0);
  assert.deepEqual(a.parallel_blocks, [{ start: 0, end: 1, modules: ['0.attn', '0.mlp'] }]);
  assert.match(a.sentences[0] as string, /L0 attn and L0 mlp run in parallel: L0 mlp reads L0 attn's output with weight 0 of its input/);
  assert.equal(a.embed_eliminated_from, null, 'every module still reads the embedding (weight 1)');
});

test('three modules that never read each other form one maximal parallel block', () => {
  // L0 mlp, L1 attn and L1 mlp read the embedding and L0 attn only; 0.02 is under a tenth of a row's mean.
  const a = layerArrangement(unfolded([[], [1], [1, 0.02], [1, 0.02, 0.02]], [1, 1, 1, 1]));
  assert.deepEqual(a.pairs.map((p) => p.arrangement), ['sequential', 'parallel', 'parallel']);
  assert.deepEqual(a.parallel_blocks, [{ start: 1, end: 3, modules: ['0.mlp', '1.attn', '1.mlp'] }]);
  assert.ok(a.sentences.some((s) => s.startsWith('L0 mlp to L1 mlp form a parallel block of 3 modules')));
  // Just above the threshold, L1 mlp reads L0 mlp: the block shrinks to two overlapping runs.
  const w = (PARALLEL_THRESHOLD * 2.1) / 4;
  const b = layerArrangement(unfolded([[], [1], [1, 0.02], [1, w * 1.2, 0.02]], [1, 1, 1, 1]));
  assert.deepEqual(b.parallel_blocks.map((x) => [x.start, x.end]), [[1, 2], [2, 3]]);
});

test('the embedding is eliminated from the first module after which none reads it', () => {
  const a = layerArrangement(unfolded([[], [1], [1, 1], [1, 1, 1]], [1, 0.5, 0.01, 0]));
  assert.equal(a.embed_eliminated_from, '1.attn');
  assert.ok((a.embed_relative[2] as number) < PARALLEL_THRESHOLD && (a.embed_relative[1] as number) >= PARALLEL_THRESHOLD);
  // A module that reads the embedding again at the end undoes the elimination.
  assert.equal(layerArrangement(unfolded([[], [1], [1, 1], [1, 1, 1]], [1, 0.5, 0.01, 1])).embed_eliminated_from, null);
});
