// Pools the rounds of bench/capture/run.sh into one Markdown table: median wall and CPU seconds
// per mode and size, capture ÷ forward, MB/s written, and the CLI's peak RSS from GNU time.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Row {
  round: number;
  mode: string;
  tokens: number;
  seconds: number;
  cpuSeconds: number;
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
const stat = (mode: string, tokens: number, key: 'seconds' | 'cpuSeconds') => median(rows.filter((r) => r.mode === mode && r.tokens === tokens).map((r) => r[key]));
const bytesOf = (tokens: number) => rows.find((r) => r.mode === 'capture' && r.tokens === tokens)?.bytes ?? 0;
/** run.sh's rss-<requested>.txt files, in the order of the sizes (captures round down to whole sequences). */
const rssFiles = readdirSync(out).filter((f) => /^rss-\d+\.txt$/.test(f)).sort((a, b) => Number(a.slice(4, -4)) - Number(b.slice(4, -4)));
const rss = (tokens: number): { rssMiB: number; wall: string } => {
  const text = readFileSync(join(out, rssFiles[sizes.indexOf(tokens)] as string), 'utf8');
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(text)?.[1]);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)/.exec(text)?.[1] ?? '?';
  return { rssMiB: kb / 1024, wall };
};

const f = (x: number, d = 2) => x.toFixed(d);
const lines: string[] = [];
lines.push(`Machine: ${machine.nproc} cores, ${machine.cpu}; node ${machine.node}; wasm backend, one thread. ${machine.date}. Load average ${machine.load} at the start, ${machine.load_after} at the end.`);
lines.push('');
lines.push('| tokens | forward s (cpu s) | hooks s (cpu s) | hooked+read s (cpu s) | capture s (cpu s) | capture ÷ forward, wall (cpu) | written MB | MB/s (capture wall) | writer alone MB/s | CLI peak RSS MiB | CLI wall |');
lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const n of sizes) {
  const mb = bytesOf(n) / 1e6;
  const r = rss(n);
  const writeMb = (rows.find((x) => x.mode === 'write' && x.tokens === n)?.bytes ?? 0) / 1e6;
  lines.push(
    `| ${n} | ${f(stat('forward', n, 'seconds'))} (${f(stat('forward', n, 'cpuSeconds'))}) | ${f(stat('hooks', n, 'seconds'))} (${f(stat('hooks', n, 'cpuSeconds'))}) | ${f(stat('hooked', n, 'seconds'))} (${f(stat('hooked', n, 'cpuSeconds'))}) | ` +
      `${f(stat('capture', n, 'seconds'))} (${f(stat('capture', n, 'cpuSeconds'))}) | ${f(stat('capture', n, 'seconds') / stat('forward', n, 'seconds'))}× (${f(stat('capture', n, 'cpuSeconds') / stat('forward', n, 'cpuSeconds'))}×) | ` +
      `${f(mb, 0)} | ${f(mb / stat('capture', n, 'seconds'), 0)} | ${f(writeMb / stat('write', n, 'seconds'), 0)} | ${f(r.rssMiB, 0)} | ${r.wall} |`,
  );
}
if (sizes.length >= 2) {
  const [a, b] = [sizes[0] as number, sizes.at(-1) as number];
  lines.push('');
  lines.push(`Peak RSS at ${b} tokens ÷ at ${a}: ${f(rss(b).rssMiB / rss(a).rssMiB, 3)} (target ≤ 1.20).`);
}
process.stdout.write(`${lines.join('\n')}\n`);
