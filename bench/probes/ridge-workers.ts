// Where `hcprobe diagnose` spends its time on a capture's stream sites (the causal part aside), and
// what worker threads save on the cross-stream ridge fits (probes/ridge-pool.ts). Per site: load,
// moments (tfjs), ridge fits on the main thread alone and over the pool, and the whole
// streamDiagnostics both ways; rounds alternate which goes first.
// usage: node --import tsx bench/probes/ridge-workers.ts ACTS [workers] [rounds] [sites] [ridge]
// (`sites`: how many site × layer × module entries, from the first, default all; `ridge`: time
// the ridge fits only, not the whole streamDiagnostics, for large d)
import { loadStreamSite } from '../../probes/load-site.ts';
import { ridgeMatrix, startRidgePool } from '../../probes/ridge-pool.ts';
import { splitBySequence } from '../../probes/sequence-split.ts';
import { RIDGE_ALPHAS, streamDiagnostics } from '../../probes/stream-diagnostics.ts';
import { streamMoments } from '../../probes/stream-moments.ts';
import { readManifest } from '../../src/capture/read.ts';
import { STREAM_SITES } from '../../src/capture/schema.ts';
import { initBackend } from '../../src/engine/backend.ts';
import { type Moments, mergeMoments } from '../../src/stats/moments.ts';

const acts = process.argv[2];
if (!acts) throw new Error('usage: bench/probes/ridge-workers.ts ACTS [workers] [rounds] [sites]');
const workers = Number(process.argv[3] ?? 1);
const rounds = Number(process.argv[4] ?? 3);
const ridgeOnly = process.argv[6] === 'ridge';
const info = await initBackend('wasm');
const m = readManifest(acts);
const entries = STREAM_SITES.filter((s) => m.sites.includes(s))
  .flatMap((site) => [...m.layers].sort((a, b) => a - b).flatMap((layer) => (['attn', 'mlp'] as const).map((module) => ({ site, layer, module }))))
  .slice(0, process.argv[5] && process.argv[5] !== 'all' ? Number(process.argv[5]) : undefined);
const pool = await startRidgePool(workers);
const ms = (t0: number) => performance.now() - t0;
const total = { load: 0, moments: 0, ridgeAlone: 0, ridgePool: 0, diagAlone: 0, diagPool: 0 };
const cpu = { ridgeAlone: 0, ridgePool: 0 };
let same = true;
process.stdout.write(`${acts}: d ${m.d_model}, n ${m.n_streams}, ${entries.length} entries; ${info.active}; ${workers} workers + main; ${rounds} rounds\n`);
for (let round = 0; round < rounds; round++) {
  const poolFirst = round % 2 === 1;
  for (const e of entries) {
    let t0 = performance.now();
    const data = await loadStreamSite(acts, m, e.site, e.layer, e.module, [], undefined);
    const load = ms(t0);
    const split = splitBySequence(data.seq, { train: 0.64, val: 0.16 }, 0, 'ridge-split');
    t0 = performance.now();
    const [train, val, test] = streamMoments(data.streams, data.dModel, split.part) as [Moments, Moments, Moments];
    const parts = { train, val, test, trainVal: mergeMoments(train, val) };
    const moments = ms(t0);
    // Wall time; CPU time of all the process's threads goes to `cpu`, to tell a starved thread from a slow one.
    const time = async <T>(f: () => Promise<T>, key?: 'ridgeAlone' | 'ridgePool'): Promise<[T, number]> => {
      const t = performance.now();
      const c = process.cpuUsage();
      const out = await f();
      const used = process.cpuUsage(c);
      if (key) cpu[key] += (used.user + used.system) / 1000;
      return [out, ms(t)];
    };
    const ridge = (p: boolean) => time(() => ridgeMatrix(parts, m.n_streams, data.dModel, RIDGE_ALPHAS, p ? pool : undefined), p ? 'ridgePool' : 'ridgeAlone');
    const diag = (p: boolean) => time(() => streamDiagnostics(data.streams, data.dModel, split, p ? pool : undefined));
    // [alone, pool], run in the round's order.
    const both = async <T>(f: (p: boolean) => Promise<[T, number]>): Promise<[[T, number], [T, number]]> => {
      if (poolFirst) {
        const p = await f(true);
        return [await f(false), p];
      }
      const a = await f(false);
      return [a, await f(true)];
    };
    const [ra, rp] = await both(ridge);
    const [da, dp] = ridgeOnly ? [[null, Number.NaN] as [null, number], [null, Number.NaN] as [null, number]] : await both(diag);
    same &&= JSON.stringify(ra[0]) === JSON.stringify(rp[0]) && JSON.stringify(da[0]) === JSON.stringify(dp[0]);
    const row = { load, moments, ridgeAlone: ra[1], ridgePool: rp[1], diagAlone: da[1], diagPool: dp[1] };
    for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += row[k];
    process.stdout.write(`round ${round} ${e.site} ${e.layer} ${e.module}: ${Object.entries(row).filter(([, v]) => !Number.isNaN(v)).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)}s`).join(', ')}\n`);
  }
}
await pool.close();
const s = (v: number) => `${(v / 1000 / rounds).toFixed(2)} s`;
const serial = total.load + (ridgeOnly ? total.moments + total.ridgeAlone : total.diagAlone);
process.stdout.write(
  `per round: load ${s(total.load)}, moments ${s(total.moments)}, ridge alone ${s(total.ridgeAlone)} (CPU/wall ${(cpu.ridgeAlone / total.ridgeAlone).toFixed(2)}), ridge with pool ${s(total.ridgePool)} (CPU/wall ${(cpu.ridgePool / total.ridgePool).toFixed(2)})` +
    (ridgeOnly ? '\n' : `; streamDiagnostics alone ${s(total.diagAlone)}, with pool ${s(total.diagPool)}\n`) +
    `ridge share of load + ${ridgeOnly ? 'moments + ridge' : 'streamDiagnostics'} (alone): ${((100 * total.ridgeAlone) / serial).toFixed(1)}%\n` +
    `speed-up: ridge ${(total.ridgeAlone / total.ridgePool).toFixed(2)}x` +
    (ridgeOnly ? '' : `, streamDiagnostics ${(total.diagAlone / total.diagPool).toFixed(2)}x, load + streamDiagnostics ${((total.load + total.diagAlone) / (total.load + total.diagPool)).toFixed(2)}x`) +
    `; results identical: ${same}\n`,
);
