// Run by backends-gradients.test.ts in a child process, one backend per process (tfjs' leak
// check trips when a process switches backends): the loss and tf.variableGrads of lossFn for
// every connection kind and stream init, parameters moved off their init. Prints one JSON object.
import { type BackendName, initBackend } from '../../src/engine/backend.ts';
import { type Scalar, tf } from '../../src/engine/tf.ts';
import { disposeParams, initParams } from '../../src/model/params.ts';
import { lossFn } from '../../src/model/transformer.ts';
import { KINDS, perturb, randomTokens } from './helpers.ts';

/** 2 sequences of the configs' full block (8): every position, attention over up to 8 keys. */
const B = 2;
const T = 8;

export interface KindGrads {
  loss: number;
  grads: Record<string, number[]>;
}

const backend = process.argv[2] as BackendName;
const info = await initBackend(backend);
const out: Record<string, KindGrads> = {};
for (const { name, config } of KINDS) {
  const params = initParams(config, 11);
  perturb(params, 12);
  const trainable = [...params].filter(([, v]) => v.trainable);
  const { value, grads } = tf.tidy(() => {
    const batch = randomTokens(13, B, T + 1, config.vocabSize);
    const tokens = tf.slice(batch, [0, 0], [B, T]);
    const targets = tf.slice(batch, [0, 1], [B, T]);
    return tf.variableGrads(() => lossFn(params, config, tokens, targets) as Scalar, trainable.map(([, v]) => v));
  });
  const g: Record<string, number[]> = {};
  for (const [pname, v] of trainable) {
    const t = grads[v.name];
    if (t) g[pname] = Array.from(t.dataSync());
  }
  out[name] = { loss: value.dataSync()[0] as number, grads: g };
  value.dispose();
  tf.dispose(grads);
  disposeParams(params);
}
process.stdout.write(`${JSON.stringify({ backend: info.active, kinds: out })}\n`);
