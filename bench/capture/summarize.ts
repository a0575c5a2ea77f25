// Pools the rounds of bench/capture/run.sh into Markdown tables: median wall and CPU seconds per
// mode and size, capture ÷ forward (writer thread prestarted as in the CLI, or started cold; and
// inline), MB/s written, and the CLI's peak RSS from GNU time for each --tokens of RSS_SIZES,
// with the writer thread and without; and the paired runs of raw-pair.jsonl (capture ÷ the
// forwards around it, in one process).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Row {
  round: number;
  mode: string;
  tokens: number;
  seconds: number;
  cpuSeconds: number;
  /** The main thread's CPU seconds (bench.ts on Linux): capture's wall time when the writer thread has a core of its own. */
  mainCpuSeconds?: number | null;
  bytes?: number;
  maxRssMiB: number;
}

const out = process.argv[2] ?? '/tmp/hcprobe-bench-capture/out';
const rows = readFileSync(join(out, 'raw.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
const machine = Object.fromEntries(readFileSync(join(out, 'machine.txt'), 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const sizes = [...new Set(rows.map((r) => r.tokens))].sort((a, b) => a - b);
const modes = new Set(rows.map((r) => r.mode));
type Key = 'seconds' | 'cpuSeconds' | 'mainCpuSeconds';
const stat = (mode: string, tokens: number, key: Key) => median(rows.filter((r) => r.mode === mode && r.tokens === tokens).map((r) => r[key] ?? Number.NaN));
/** Per round, this mode's time ÷ the forward's of the same round; the median of those ratios. */
const ratio = (mode: string, tokens: number, key: Key) => {
  const fwd = new Map(rows.filter((r) => r.mode === 'forward' && r.tokens === tokens).map((r) => [r.round, r[key] ?? Number.NaN]));
  return median(rows.filter((r) => r.mode === mode && r.tokens === tokens && fwd.has(r.round)).map((r) => (r[key] ?? Number.NaN) / (fwd.get(r.round) as number)));
};
const bytesOf = (tokens: number) => rows.find((r) => r.mode === 'capture' && r.tokens === tokens)?.bytes ?? 0;
/** run.sh's rss-<requested>.txt (writer thread) and rss-inline-<requested>.txt files: requested tokens → peak RSS and wall. */
const rssOf = (prefix: string) =>
  readdirSync(out)
    .map((f) => new RegExp(`^${prefix}(\\d+)\\.txt$`).exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const text = readFileSync(join(out, m[0]), 'utf8');
      const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(text)?.[1]);
      const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)/.exec(text)?.[1] ?? '?';
      return { tokens: Number(m[1]), rssMiB: kb / 1024, wall };
    })
    .sort((a, b) => a.tokens - b.tokens);

const f = (x: number, d = 2) => x.toFixed(d);
const cell = (mode: string, n: number) => (modes.has(mode) ? `${f(stat(mode, n, 'seconds'))} (${f(stat(mode, n, 'cpuSeconds'))})` : '–');
const rcell = (mode: string, n: number) => (modes.has(mode) ? `${f(ratio(mode, n, 'seconds'))}× (${f(ratio(mode, n, 'cpuSeconds'))}×)` : '–');
const mcell = (mode: string, n: number) => (modes.has(mode) && Number.isFinite(ratio(mode, n, 'mainCpuSeconds')) ? `${f(ratio(mode, n, 'mainCpuSeconds'))}×` : '–');
const lines: string[] = [];
lines.push(`Machine: ${machine.nproc} cores, ${machine.cpu}; node ${machine.node}; wasm backend, one thread. ${machine.date}. Load average ${machine.load} at the start, ${machine.load_after} at the end.`);
lines.push('');
lines.push('Seconds are medians over the rounds, wall (CPU of the whole process, all threads); ratios are medians of the per-round ratios to that round\'s forward; main-thread CPU ÷ forward is the wall ratio with a free core for the writer thread.');
lines.push('');
lines.push('| tokens | forward s | hooked+read s | capture s (writer thread) | capture s (inline) | capture ÷ forward, wall (cpu), thread | thread started by capture() (cold) | capture ÷ forward, wall (cpu), inline | main-thread CPU ÷ forward, thread (inline) | written MB | MB/s (capture wall) | writer alone MB/s |');
lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const n of sizes) {
  const mb = bytesOf(n) / 1e6;
  const writeMb = (rows.find((x) => x.mode === 'write' && x.tokens === n)?.bytes ?? 0) / 1e6;
  lines.push(
    `| ${n} | ${cell('forward', n)} | ${cell('hooked', n)} | ${cell('capture', n)} | ${cell('capture-inline', n)} | ${rcell('capture', n)} | ${rcell('capture-cold', n)} | ${rcell('capture-inline', n)} | ${mcell('capture', n)} (${mcell('capture-inline', n)}) | ` +
      `${f(mb, 0)} | ${modes.has('capture') ? f(mb / stat('capture', n, 'seconds'), 0) : '–'} | ${modes.has('write') ? f(writeMb / stat('write', n, 'seconds'), 0) : '–'} |`,
  );
}
const thread = rssOf('rss-');
const inline = new Map(rssOf('rss-inline-').map((r) => [r.tokens, r]));
if (thread.length > 0) {
  lines.push('');
  lines.push('| CLI --tokens | peak RSS MiB, writer thread | wall | peak RSS MiB, inline | wall |');
  lines.push('| ---: | ---: | ---: | ---: | ---: |');
  for (const r of thread) {
    const i = inline.get(r.tokens);
    lines.push(`| ${r.tokens} | ${f(r.rssMiB, 0)} | ${r.wall} | ${i ? f(i.rssMiB, 0) : '–'} | ${i?.wall ?? '–'} |`);
  }
  if (thread.length >= 2) {
    const [a, b] = [thread[0], thread.at(-1)] as [(typeof thread)[0], (typeof thread)[0]];
    lines.push('');
    lines.push(`Peak RSS with the writer thread at ${b.tokens} tokens ÷ at ${a.tokens}: ${f(b.rssMiB / a.rssMiB, 3)} (target ≤ 1.20).`);
  }
}
const pairPath = join(out, 'raw-pair.jsonl');
if (existsSync(pairPath)) {
  const pairs = readFileSync(pairPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { tokens: number; ratios: number[]; forwards: number[]; captures: number[] });
  lines.push('');
  lines.push('Paired in one process (`bench.ts pair`): each capture (writer thread) ÷ the mean of the forwards just before and after it.');
  lines.push('');
  lines.push('| tokens | capture ÷ forward, median | per capture | forward s (range) | capture s (range) |');
  lines.push('| ---: | ---: | --- | --- | --- |');
  const range = (xs: number[]) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
  for (const p of pairs) {
    lines.push(`| ${p.tokens} | **${f(median(p.ratios))}×** | ${p.ratios.map((r) => f(r)).join(', ')} | ${range(p.forwards)} | ${range(p.captures)} |`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
