// The writer thread's entry when its bundle (writer-bundle.ts) cannot be had: worker threads
// start without the parent's loaders, so register tsx, then run the TypeScript worker. Arrow is
// imported first, without tsx's loader hooks, which would see each of its modules (more than a
// hundred) pass through them: that halves this start-up. The worker's own import of it then
// finds the same module loaded.
await import('apache-arrow');
const { register } = await import('tsx/esm/api');

register();
await import('./writer-thread-worker.ts');
