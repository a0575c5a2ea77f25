// Training-step parity with the reference code on the cpu backend, and the fixture and init
// checks (the cases and tolerances are in train-parity.ts).
import { fixtureTests, parityTest } from './train-parity.ts';

parityTest('cpu');
fixtureTests();
