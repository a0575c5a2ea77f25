// Training-step parity with the reference code on the wasm backend (see train-parity.ts).
import { parityTest } from './train-parity.ts';

parityTest('wasm');
