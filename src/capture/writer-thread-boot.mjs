// Worker threads start without the parent's loaders: register tsx, then run the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./writer-thread-worker.ts');
