// The capture's writer thread as one ES module (esbuild: its TypeScript, Arrow and xxhash-wasm
// bundled), so that the thread starts without tsx. Under tsx a thread registers the loader,
// whose own thread transforms its modules one by one, and imports Arrow's ~150 modules: inside a
// capture, beside the forward pass, that took 0.5–0.75 s before the first batch was written;
// from the bundle, 0.15–0.23 s (bench/RESULTS.md, capture, session 9).
//
// The bundle is cached on disk, keyed by the content of every file that went into it and of the
// files that shape the build (its options here, tsconfig.json, package-lock.json), so a changed
// source is never run stale; it is rebuilt on first use after any change. When it cannot be
// built or written, the thread boots through tsx as before.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../io/atomic-write.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = 'src/capture/writer-thread-worker.ts';
/** Files that shape the bundle without being in it: the build's options, the compiler's, the installed versions. */
const BUILD_FILES = ['src/capture/writer-bundle.ts', 'tsconfig.json', 'package-lock.json'];
const BUNDLE_NAME = /^writer-thread-[0-9a-f]{16}\.mjs$/;
/** A bundle unused for this long is removed when another is built. */
const STALE_MS = 24 * 3600 * 1000;
/** The thread's entry through tsx (the fallback). */
export const TSX_BOOT = new URL('./writer-thread-boot.mjs', import.meta.url);

/** What a cached bundle was built from: esbuild's version and the sha1 of each input and build file, by path under ROOT. */
interface BundleKey {
  esbuild: string;
  inputs: Record<string, string>;
}

const sha1 = (bytes: Uint8Array | string) => createHash('sha1').update(bytes).digest('hex');

/**
 * The folder for cached bundles: node_modules/.cache/hcprobe, or the user's own cache folder
 * when that is not writable (never a shared one such as /tmp: whoever can write the folder
 * chooses the code the thread runs).
 */
export function defaultCacheDir(): string {
  const inPackage = join(ROOT, 'node_modules', '.cache', 'hcprobe');
  try {
    mkdirSync(inPackage, { recursive: true });
    return inPackage;
  } catch {
    return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hcprobe');
  }
}

function esbuildVersion(require: NodeJS.Require): string {
  return (JSON.parse(readFileSync(require.resolve('esbuild/package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The cached bundle if every input it was built from is unchanged, else undefined: also when the
 * key, an input or the bundle is missing (reading or touching it throws).
 */
function cached(dir: string, esbuild: string): string | undefined {
  try {
    const key = JSON.parse(readFileSync(join(dir, 'writer-thread.json'), 'utf8')) as BundleKey & { bundle: string };
    if (key.esbuild !== esbuild || !BUNDLE_NAME.test(key.bundle) || !(ENTRY in key.inputs)) return undefined;
    for (const [path, hash] of Object.entries(key.inputs)) if (sha1(readFileSync(join(ROOT, path))) !== hash) return undefined;
    const bundle = join(dir, key.bundle);
    const now = new Date();
    utimesSync(bundle, now, now); // its time is its last use, which removeStale goes by
    return bundle;
  } catch {
    return undefined;
  }
}

function build(dir: string, require: NodeJS.Require, esbuild: string): string {
  const { buildSync } = require('esbuild') as typeof import('esbuild');
  const result = buildSync({
    entryPoints: [ENTRY], absWorkingDir: ROOT, bundle: true, format: 'esm', platform: 'node', target: 'node20',
    write: false, metafile: true, outfile: join(dir, 'writer-thread.mjs'), logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.text;
  if (code === undefined) throw new Error('esbuild produced no output');
  const paths = [...Object.keys(result.metafile.inputs), ...BUILD_FILES.filter((f) => existsSync(join(ROOT, f)))];
  const inputs = Object.fromEntries(paths.map((path) => [path, sha1(readFileSync(join(ROOT, path)))]));
  // Named by its content: a process still starting an older bundle never sees it replaced.
  const name = `writer-thread-${sha1(code).slice(0, 16)}.mjs`;
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, name), code, { force: true });
  writeFileAtomic(join(dir, 'writer-thread.json'), JSON.stringify({ esbuild, inputs, bundle: name } satisfies BundleKey & { bundle: string }), { force: true });
  removeStale(dir, name);
  return join(dir, name);
}

/** Bundles of earlier sources unused for a day (another checkout sharing the folder may still use one). */
function removeStale(dir: string, keep: string): void {
  for (const name of readdirSync(dir)) {
    if (name === keep || !BUNDLE_NAME.test(name)) continue;
    const file = join(dir, name);
    try {
      if (Date.now() - statSync(file).mtimeMs > STALE_MS) rmSync(file, { force: true });
    } catch {
      // removed meanwhile by another process
    }
  }
}

/**
 * The module a writer thread starts from: the cached bundle, built first if any of its inputs
 * changed; TSX_BOOT when HCPROBE_WRITER_BUNDLE=0 or when the bundle cannot be had.
 */
export function writerThreadEntry(dir: string = process.env.HCPROBE_CACHE_DIR ?? defaultCacheDir()): URL {
  if (process.env.HCPROBE_WRITER_BUNDLE === '0') return TSX_BOOT;
  try {
    const require = createRequire(join(ROOT, 'package.json'));
    const esbuild = esbuildVersion(require);
    return pathToFileURL(cached(dir, esbuild) ?? build(dir, require, esbuild));
  } catch {
    return TSX_BOOT;
  }
}
