// Worker threads start without the parent's loaders: register tsx, then run the TypeScript worker.
// Arrow is imported first, without tsx's loader hooks, which would see each of its modules (more
// than a hundred) pass through them: that halves the thread's start-up. The worker's own import
// of it then finds the same module loaded.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

// The writing should use a spare core, never take one from the forward pass: where the threads
// outnumber the cores, this one gives way (Linux: nice 10 for this thread alone; elsewhere as is).
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 10);
} catch {
  // no /proc/thread-self, or not allowed: the thread keeps its priority
}
await import('apache-arrow');
const { register } = await import('tsx/esm/api');

register();
await import('./writer-thread-worker.ts');
