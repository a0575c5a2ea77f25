// One measurement of the capture benchmark (bench/capture/run.sh), printed as one JSON line:
//   forward  the model's forward over the capture's windows and batches, no hooks, logits read
//   hooks    the same with the capture's hooks registered but reading nothing
//   hooked   the same with the capture's hooks, each hooked tensor read back (dataSync)
//   capture  capture() itself, in-process, into --out (the CLI's work minus its start-up):
//            shards built and written on the writer thread, overlapped with the next forward;
//            its thread started and loaded before the timing, as the CLI's loads with the model;
//            each capture mode first runs a 4-batch capture, as the forward modes run 4 batches
//   capture-cold  the same with the thread started by capture() itself, beside its first batches
//   capture-inline  the same with writerThread false: shards written between forward passes
//   write    ShardWriter alone: the bytes a capture of --tokens writes, from prebuilt batches
//   pair     forward, then --repeat times capture (writer thread) and forward again, in one
//            process: each capture's ratio to the mean of the forwards on either side of it; each
//            capture's thread is started and loaded before its timing starts, as in the CLI
// Usage: node --import tsx bench/capture/bench.ts MODE --run DIR --tokens N [--out DIR]
//        [--batch 8] [--split train] [--sites resid_post,coeffs] [--backend wasm]
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { distinct, parseSiteList } from '../../cli/parse.ts';
import { capture } from '../../src/capture/capture.ts';
import { CAPTURE_SITES, shardDir, shardName, shardSchema, valueColumns } from '../../src/capture/schema.ts';
import { neededHooks } from '../../src/capture/site-values.ts';
import { recordBatch, ShardWriter } from '../../src/capture/shard-writer.ts';
import { prestartWriterThread } from '../../src/capture/writer-thread.ts';
import { readRunConfig } from '../../src/train/run-dir.ts';
import { type BackendName, initBackend } from '../../src/engine/backend.ts';
import { tf } from '../../src/engine/tf.ts';
import { loadCorpusForModel } from '../../src/data/corpus.ts';
import { sequentialWindows } from '../../src/data/batches.ts';
import { configFromCheckpoint, paramsFromCheckpoint } from '../../src/model/checkpoint.ts';
import type { HookFn } from '../../src/model/hooks.ts';
import { readSafetensorsFile } from '../../src/io/safetensors.ts';
import { forward } from '../../src/model/transformer.ts';
import { latestCheckpoint, runPaths } from '../../src/train/run-dir.ts';

const { positionals, values: a } = parseArgs({
  allowPositionals: true,
  options: {
    run: { type: 'string' },
    tokens: { type: 'string' },
    out: { type: 'string', default: '' },
    batch: { type: 'string', default: '8' },
    split: { type: 'string', default: 'train' },
    sites: { type: 'string', default: 'resid_post,coeffs' },
    backend: { type: 'string', default: 'wasm' },
    repeat: { type: 'string', default: '5' },
  },
});
const mode = positionals[0];
if (!mode || !['forward', 'hooks', 'hooked', 'capture', 'capture-cold', 'capture-inline', 'write', 'pair'].includes(mode) || !a.run || !a.tokens) {
  process.stderr.write('usage: bench.ts forward|hooks|hooked|capture|capture-cold|capture-inline|write|pair --run DIR --tokens N [--out DIR] [--repeat 5]\n');
  process.exit(2);
}

const run = a.run;
const runCfg = readRunConfig(run);
const ckpt = latestCheckpoint(runPaths(run)) as string;
const file = readSafetensorsFile(ckpt);
const config = configFromCheckpoint(file, ckpt);
const corpus = loadCorpusForModel(runCfg.corpus, { seed: runCfg.seed, tokenizer: runCfg.tokenizer }, config.vocabSize);
await initBackend(a.backend as BackendName);
const params = paramsFromCheckpoint(file, config, ckpt);
const split = a.split === 'val' ? corpus.val : corpus.train;
const tokens = Number(a.tokens);
const batch = Number(a.batch);
const sites = distinct(parseSiteList('--sites', a.sites, CAPTURE_SITES).map((r) => r.site));
const layers = [...Array(config.nLayers).keys()];
const windows = [...sequentialWindows(split, config.blockSize, tokens)];
const T = config.blockSize;

/** The hooks capture() registers for these sites: the capture's own list. */
const captureHooks = (): string[] => [...neededHooks(sites, layers, config)];

/**
 * CPU seconds by thread (Linux: /proc/self/task/*, utime + stime at 100 Hz): `main`, and the
 * others by their kernel name (on Node 20 mostly `node`: the writer thread, V8's and libuv's
 * helpers). Empty elsewhere. With the writer thread on a core of its own, capture's wall time is
 * the main thread's.
 */
function threadCpu(): Map<string, { name: string; cpu: number }> {
  const byTid = new Map<string, { name: string; cpu: number }>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = tid === String(process.pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      byTid.set(tid, { name, cpu: (Number(fields[11]) + Number(fields[12])) / 100 });
    }
  } catch {
    // not Linux, or a thread ended between listing and reading
  }
  return byTid;
}

/** Samples threadCpu every 50 ms, so that threads that end (the writer) are counted; stop() gives seconds by name. */
function threadSampler(): { stop(): Record<string, number> } {
  const first = threadCpu();
  const last = new Map(first);
  const sample = () => { for (const [tid, t] of threadCpu()) last.set(tid, t); };
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const byName: Record<string, number> = {};
      for (const [tid, t] of last) byName[t.name] = Number(((byName[t.name] ?? 0) + t.cpu - (first.get(tid)?.cpu ?? 0)).toFixed(2));
      return byName;
    },
  };
}

/** Wall and CPU (user + system, all threads; and the main thread's) seconds of `fn`: CPU time is what load from other processes disturbs least. */
async function timed<T>(fn: () => T | Promise<T>): Promise<{ value: T; seconds: number; cpuSeconds: number; mainCpuSeconds: number | null; threads: Record<string, number> }> {
  const c0 = process.cpuUsage();
  const sampler = threadSampler();
  const t0 = performance.now();
  const value = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const threads = sampler.stop();
  return { value, seconds, cpuSeconds: (c.user + c.system) / 1e6, mainCpuSeconds: threads.main ?? null, threads };
}

/** Runs every batch: no hooks, hooks that only observe, or hooks that read back as capture() does. */
function forwardPass(kind: 'forward' | 'hooks' | 'hooked', limit = windows.length): number {
  const hooks = new Map<string, HookFn>();
  let sink = 0;
  if (kind !== 'forward') {
    for (const n of captureHooks()) {
      hooks.set(n, (x) => {
        if (kind === 'hooked') sink += (x.dataSync() as Float32Array).length;
      });
    }
  }
  for (let b0 = 0; b0 < Math.min(limit, windows.length); b0 += batch) {
    const ws = windows.slice(b0, b0 + batch);
    const ids = new Int32Array(ws.length * T);
    ws.forEach((w, i) => ids.set(w.tokens, i * T));
    // Reading the logits back forces the work on any backend, as the hooks' reads do.
    tf.tidy(() => void forward(params, config, tf.tensor2d(ids, [ws.length, T], 'int32'), { hooks }).dataSync());
  }
  return sink;
}

/** capture() itself, into --out (or `out`), on the writer thread or inline. */
function runCapture(writerThread: boolean, n = tokens, out = a.out as string) {
  return capture({
    params, config, checkpoint: ckpt, run, corpus, split: a.split === 'val' ? 'val' : 'train', tokens: n, sites, layers, dtype: 'float32',
    batch, shardBytes: 256 * 1024 * 1024, out, resume: false, command: [], writerThread,
  });
}

/**
 * The capture modes' warm-up: a hooked forward and a capture of 4 batches, as the forward modes
 * run 4 batches of their own first, so that the capture's code is compiled when timed as the
 * forward's is. A capture on the writer thread takes the prestarted thread: another is then
 * started and loaded before the timing, as the CLI's loads while the model does.
 */
async function warmUpCapture(writerThread: boolean): Promise<void> {
  forwardPass('hooked', 4 * batch);
  const out = `${a.out}.warm-up`;
  rmSync(out, { recursive: true, force: true });
  await runCapture(writerThread, 4 * batch * T, out);
  rmSync(out, { recursive: true, force: true });
  if (writerThread) await prestartWriterThread();
}

const rows = windows.length * T;
let result: Record<string, unknown>;
if (mode === 'forward' || mode === 'hooks' || mode === 'hooked') {
  forwardPass(mode, 4 * batch); // warm-up: kernels compiled, buffers sized
  const { seconds, cpuSeconds, mainCpuSeconds, threads } = await timed(() => forwardPass(mode));
  result = { seconds, cpuSeconds, mainCpuSeconds, threads };
} else if (mode === 'capture' || mode === 'capture-cold' || mode === 'capture-inline') {
  if (!a.out) throw new Error('--out is required for capture');
  rmSync(a.out, { recursive: true, force: true });
  // capture-cold warms up inline, so that its thread is still started by the timed capture
  await warmUpCapture(mode === 'capture');
  const { value: m, seconds, cpuSeconds, mainCpuSeconds, threads } = await timed(() => runCapture(mode !== 'capture-inline'));
  result = { seconds, cpuSeconds, mainCpuSeconds, threads, bytes: m.shards.reduce((s, x) => s + x.bytes, 0), shards: m.shards.length };
} else if (mode === 'pair') {
  // Forward and capture alternated in one process, so that each capture is compared with the
  // forwards just before and after it (seconds apart) rather than with another process's.
  if (!a.out) throw new Error('--out is required for pair');
  await warmUpCapture(true);
  const forwards: number[] = [];
  const captures: number[] = [];
  const ratios: number[] = [];
  forwards.push((await timed(() => forwardPass('forward'))).seconds);
  for (let i = 0; i < Number(a.repeat); i++) {
    rmSync(a.out, { recursive: true, force: true });
    await prestartWriterThread();
    captures.push((await timed(() => runCapture(true))).seconds);
    rmSync(a.out, { recursive: true, force: true });
    forwards.push((await timed(() => forwardPass('forward'))).seconds);
    ratios.push((captures[i] as number) / (((forwards[i] as number) + (forwards[i + 1] as number)) / 2));
  }
  const median = [...ratios].sort((x, y) => x - y)[Math.floor(ratios.length / 2)];
  result = { forwards, captures, ratios, median };
} else {
  if (!a.out) throw new Error('--out is required for write');
  rmSync(a.out, { recursive: true, force: true });
  // One prebuilt batch per shard stream, written as often as the capture writes it.
  const labelNames = corpus.labels.map((l) => l.name);
  const n = batch * T;
  const streams = sites.flatMap((site) => layers.flatMap((layer) => (['attn', 'mlp'] as const).map((module) => ({ site, layer, module }))));
  const writers = streams.map((k) => {
    const schema = shardSchema(k.site, config, labelNames, 'float32');
    const values = new Map(valueColumns(k.site, config).map((c) => [c.name, Float32Array.from({ length: n * c.width }, (_, i) => Math.sin(i))]));
    const labels = new Map(labelNames.map((l) => [`label_${l}`, new Int32Array(n).fill(-1)]));
    const rb = recordBatch(schema, { rows: n, seq: new Int32Array(n), pos: new Int32Array(n), token: new Int32Array(n), labels, values });
    return { rb, w: new ShardWriter(join(a.out as string, shardDir(k), shardName(0))) };
  });
  const { value: bytes, seconds, cpuSeconds } = await timed(async () => {
    for (let b0 = 0; b0 < windows.length; b0 += batch) for (const s of writers) await s.w.write(s.rb);
    let total = 0;
    for (const s of writers) total += await s.w.close();
    return total;
  });
  result = { seconds, cpuSeconds, bytes };
}
const ru = process.resourceUsage();
process.stdout.write(`${JSON.stringify({ mode, tokens: rows, batch, sites: a.sites, ...result, maxRssMiB: ru.maxRSS / 1024 })}\n`);
