// `hcprobe forward`: runs a checkpoint on token sequences and prints the logits of every
// position and the mean next-token cross-entropy.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BACKENDS, type BackendName, initBackend } from '../../src/engine/backend.ts';
import { tf } from '../../src/engine/tf.ts';
import { ConfigError, shown } from '../../src/errors.ts';
import { CONNECTION_KINDS, type ModelConfig } from '../../src/model/config.ts';
import { type ConfigOverrides, configFromCheckpoint, paramsFromCheckpoint } from '../../src/model/checkpoint.ts';
import { disposeParams, type Params } from '../../src/model/params.ts';
import { readSafetensorsFile } from '../../src/io/safetensors.ts';
import { forward } from '../../src/model/transformer.ts';
import { parseChoice, parseIntFlag, parseTokenSequences } from '../parse.ts';
import { runCommand } from '../run-command.ts';

export interface ForwardArgs {
  checkpoint: string;
  tokens: number[][];
  overrides: ConfigOverrides;
  backend: BackendName;
  json: boolean;
}

export interface ForwardResult {
  logits: number[][][];
  /** Mean next-token cross-entropy over all sequences; null when no sequence has two tokens. */
  loss: number | null;
}

export function parseForwardArgs(o: Record<string, string | boolean | undefined>): ForwardArgs {
  if (typeof o.checkpoint !== 'string') throw new ConfigError('--checkpoint FILE is required');
  if (typeof o.tokens !== 'string') throw new ConfigError('--tokens JSON is required (e.g. --tokens "[[1,2,3]]" or --tokens @file.json)');
  const text = o.tokens.startsWith('@') ? readTokensFile(o.tokens.slice(1)) : o.tokens;
  const overrides: ConfigOverrides = {};
  if (typeof o.nHead === 'string') overrides.nHeads = parseIntFlag('--n-head', o.nHead);
  if (typeof o.connection === 'string') overrides.connection = parseChoice('--connection', o.connection, CONNECTION_KINDS);
  if (typeof o.streams === 'string') overrides.nStreams = parseIntFlag('--streams', o.streams, 1, 8);
  return {
    checkpoint: o.checkpoint,
    tokens: parseTokenSequences('--tokens', text),
    overrides,
    backend: parseChoice('--backend', typeof o.backend === 'string' ? o.backend : 'auto', BACKENDS),
    json: o.json === true,
  };
}

function readTokensFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`--tokens: cannot read file ${shown(path)}`);
  }
}

export function checkTokens(tokens: number[][], c: ModelConfig): void {
  tokens.forEach((seq, i) => {
    if (seq.length > c.blockSize) throw new ConfigError(`--tokens: sequence ${i} has ${seq.length} tokens, more than the model's block size ${c.blockSize}`);
    const bad = seq.findIndex((t) => t >= c.vocabSize);
    if (bad >= 0) throw new ConfigError(`--tokens: token ${bad} of sequence ${i} is ${seq[bad]}, outside the vocabulary (size ${c.vocabSize})`);
  });
}

/** Sequences of equal length run as one batch; results keep the input order. */
export function runForward(params: Params, c: ModelConfig, tokens: number[][]): ForwardResult {
  const logits: number[][][] = new Array(tokens.length);
  const byLength = new Map<number, number[]>();
  tokens.forEach((seq, i) => byLength.set(seq.length, [...(byLength.get(seq.length) ?? []), i]));
  let nll = 0;
  let count = 0;
  for (const [T, rows] of byLength) {
    const ids = rows.flatMap((i) => tokens[i] as number[]);
    const [batchLogits, logp] = tf.tidy(() => {
      const l = forward(params, c, tf.tensor2d(ids, [rows.length, T], 'int32')); // [b, T, V]
      return [l.arraySync() as number[][][], tf.logSoftmax(l).arraySync() as number[][][]] as const;
    });
    rows.forEach((i, b) => {
      const seq = tokens[i] as number[];
      logits[i] = batchLogits[b] as number[][];
      for (let t = 0; t + 1 < T; t++) {
        nll -= ((logp[b] as number[][])[t] as number[])[seq[t + 1] as number] as number;
        count++;
      }
    });
  }
  return { logits, loss: count > 0 ? nll / count : null };
}

export function registerForward(program: Command, setExit: (code: number) => void): void {
  program
    .command('forward')
    .description('run a checkpoint on token sequences; print logits of every position and the next-token loss')
    .requiredOption('--checkpoint <file>', 'model checkpoint (.safetensors, reference names)')
    .requiredOption('--tokens <json>', 'token ids as a JSON array of arrays, or @file.json')
    .option('--n-head <h>', 'attention heads, when the checkpoint metadata lacks n_head')
    .option('--connection <kind>', `connection kind, when the metadata lacks hyper_conn_type (${CONNECTION_KINDS.join('|')})`)
    .option('--streams <n>', 'number of streams, when the metadata lacks hyper_conn_n')
    .option('--backend <name>', `tensor backend (${BACKENDS.join('|')})`, 'auto')
    .option('--json', 'print one JSON object {logits, loss}')
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      setExit(
        await runCommand(async () => {
          const args = parseForwardArgs(opts);
          const file = readSafetensorsFile(args.checkpoint);
          const config = configFromCheckpoint(file, args.checkpoint, args.overrides);
          checkTokens(args.tokens, config);
          await initBackend(args.backend);
          const params = paramsFromCheckpoint(file, config, args.checkpoint);
          const result = runForward(params, config, args.tokens);
          disposeParams(params);
          if (args.json) {
            process.stdout.write(`${JSON.stringify(result)}\n`);
            return;
          }
          const kind = config.connection.kind;
          process.stdout.write(`model: ${kind}, ${config.nStreams} stream(s), ${config.nLayers} layers, d ${config.dModel}, vocab ${config.vocabSize}\n`);
          process.stdout.write(`logits: ${result.logits.length} sequence(s) × positions × ${config.vocabSize}\n`);
          process.stdout.write(`loss: ${result.loss === null ? 'n/a (every sequence has one token)' : result.loss.toFixed(6)}\n`);
          process.stdout.write('(--json prints every logit)\n');
        }),
      );
    });
}
