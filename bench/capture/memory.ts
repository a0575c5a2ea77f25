// Memory over the course of one capture (issue 17, item 2: "memory stays flat"): capture() of
// --tokens in-process, sampling process.memoryUsage() (the writer thread's included) every
// --every sequences; prints one JSON line per sample, then the peak RSS (getrusage).
// Usage: node --import tsx bench/capture/memory.ts --run DIR --tokens N --out DIR
//        [--writer-thread true|false] [--every 2000] [--batch 8] [--split train] [--sites resid_post,coeffs]
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { distinct, parseSiteList } from '../../cli/parse.ts';
import { capture } from '../../src/capture/capture.ts';
import { CAPTURE_SITES } from '../../src/capture/schema.ts';
import { loadCorpusForModel } from '../../src/data/corpus.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { readSafetensorsFile } from '../../src/io/safetensors.ts';
import { configFromCheckpoint, paramsFromCheckpoint } from '../../src/model/checkpoint.ts';
import { latestCheckpoint, readRunConfig, runPaths } from '../../src/train/run-dir.ts';

const { values: a } = parseArgs({
  options: {
    run: { type: 'string' },
    tokens: { type: 'string' },
    out: { type: 'string' },
    'writer-thread': { type: 'string', default: 'true' },
    every: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '8' },
    split: { type: 'string', default: 'train' },
    sites: { type: 'string', default: 'resid_post,coeffs' },
  },
});
if (!a.run || !a.tokens || !a.out) {
  process.stderr.write('usage: memory.ts --run DIR --tokens N --out DIR [--writer-thread true|false] [--every 2000]\n');
  process.exit(2);
}
const runCfg = readRunConfig(a.run);
const ckpt = latestCheckpoint(runPaths(a.run)) as string;
const file = readSafetensorsFile(ckpt);
const config = configFromCheckpoint(file, ckpt);
const corpus = loadCorpusForModel(runCfg.corpus, { seed: runCfg.seed, tokenizer: runCfg.tokenizer }, config.vocabSize);
await initBackend('wasm');
const params = paramsFromCheckpoint(file, config, ckpt);
rmSync(a.out, { recursive: true, force: true });
const every = Number(a.every);
const mib = (x: number) => Math.round((x / 1048576) * 10) / 10;
const sample = (done: number) => {
  const m = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ sequences: done, rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed), externalMiB: mib(m.external), arrayBuffersMiB: mib(m.arrayBuffers) })}\n`);
};
let next = every;
const t0 = performance.now();
const m = await capture(
  {
    params, config, checkpoint: ckpt, run: a.run, corpus, split: a.split === 'val' ? 'val' : 'train', tokens: Number(a.tokens),
    sites: distinct(parseSiteList('--sites', a.sites as string, CAPTURE_SITES).map((r) => r.site)), layers: [...Array(config.nLayers).keys()],
    dtype: 'float32', batch: Number(a.batch), shardBytes: 256 * 1024 * 1024, out: a.out, resume: false, command: [], writerThread: a['writer-thread'] !== 'false',
  },
  (done) => {
    if (done >= next) {
      sample(done);
      next += every;
    }
  },
);
process.stdout.write(`${JSON.stringify({ writerThread: a['writer-thread'], tokens: m.tokens, seconds: (performance.now() - t0) / 1000, maxRssMiB: mib(process.resourceUsage().maxRSS * 1024) })}\n`);
rmSync(a.out, { recursive: true, force: true });
