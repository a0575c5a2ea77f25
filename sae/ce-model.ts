// The capture's model for CE splicing, and its token texts for dashboards (sae/run-saes.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as A from 'apache-arrow';
import { isModelHash, type Manifest } from '../src/capture/schema.ts';
import { ConfigError, shown } from '../src/errors.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { configFromCheckpoint, paramsFromCheckpoint } from '../src/model/checkpoint.ts';
import type { Params } from '../src/model/params.ts';
import { readSafetensorsFile } from '../src/io/safetensors.ts';

export type CeModel = { params: Params; config: ModelConfig } | { note: string };

/**
 * The capture's model, for splicing. `checkpoint` (given by the user) must exist and hold the
 * captured model (a ConfigError otherwise); without it, the manifest's checkpoint is used, and
 * a note replaces the model when it cannot be.
 */
export function loadCeModel(m: Manifest, checkpoint?: string): CeModel {
  const path = checkpoint ?? m.checkpoint;
  if (!existsSync(path)) {
    if (checkpoint !== undefined) throw new ConfigError(`--checkpoint ${shown(checkpoint)} does not exist`);
    return { note: `checkpoint ${m.checkpoint} not found (run from the folder the capture was made in, or pass --checkpoint)` };
  }
  const file = readSafetensorsFile(path);
  const config = configFromCheckpoint(file, path);
  if (!isModelHash(config, m.model_hash)) {
    if (checkpoint !== undefined) throw new ConfigError(`--checkpoint ${shown(checkpoint)} holds another model than the capture's (${m.model.connection.kind}, ${m.n_streams} streams, ${m.model.nLayers} layers, d ${m.d_model}, from ${m.checkpoint})`);
    return { note: `checkpoint ${m.checkpoint} no longer matches the capture's model` };
  }
  return { params: paramsFromCheckpoint(file, config, path), config };
}

/** Token id → text from the capture's tokens.arrow (ids as text when it is missing). */
export function tokenTexts(acts: string): (id: number) => string {
  const path = join(acts, 'tokens.arrow');
  if (!existsSync(path)) return (id) => `<${id}>`;
  const table = A.tableFromIPC(readFileSync(path));
  const text = table.getChild('text')?.toArray() as string[] | undefined;
  return (id) => text?.[id] ?? `<${id}>`;
}
