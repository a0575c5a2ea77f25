// Chooses and starts the TensorFlow.js backend: wasm (CPU default), cpu (reference, slow),
// webgpu (Dawn over Vulkan, for GPUs) or tfjs-node when the user has installed it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ConfigError } from '../errors.ts';
import { registerFastGradients } from './gradients.ts';
import { setMatmulMode } from './matmul.ts';
import { tf } from './tf.ts';
import { registerWasmKernels } from './wasm/tfjs-kernels.ts';
import { installWebgpuNodeFixes, prepareSyncRead } from './webgpu-node.ts';

const require = createRequire(import.meta.url);

export const BACKENDS = ['auto', 'wasm', 'cpu', 'webgpu', 'node'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  requested: BackendName;
  /** The tfjs backend that runs: wasm, cpu, webgpu or tensorflow. */
  active: string;
  /** Adapter description for webgpu; library for node. */
  device: string;
}

export interface BackendOptions {
  /** Extra toggles for Dawn's create(), e.g. ['backend=vulkan']. */
  dawnFlags?: string[];
}

let started: BackendInfo | undefined;

export async function initBackend(name: BackendName, opts: BackendOptions = {}): Promise<BackendInfo> {
  if (started && (started.requested === name || started.active === name)) return started;
  registerFastGradients();
  let info: BackendInfo;
  if (name === 'auto') {
    info = (await hardwareGpu(opts)) ? await startWebgpu(opts) : await startWasm();
    info.requested = 'auto';
  } else if (name === 'wasm') info = await startWasm();
  else if (name === 'cpu') info = await startCpu();
  else if (name === 'webgpu') info = await startWebgpu(opts);
  else info = await startNode();
  started = info;
  return info;
}

/** Lets the process exit: Dawn keeps it alive while navigator.gpu is referenced. */
export function shutdownBackend(): void {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (nav?.gpu) delete nav.gpu;
}

async function startCpu(): Promise<BackendInfo> {
  tf.env().set('IS_TEST', true); // silences tfjs' banner recommending tfjs-node on stdout
  await tf.setBackend('cpu');
  await tf.ready();
  setMatmulMode('native');
  return { requested: 'cpu', active: 'cpu', device: 'JavaScript, one thread' };
}

async function startWasm(): Promise<BackendInfo> {
  require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
  await tf.ready();
  // HCPROBE_WASM_KERNELS=0: tfjs-wasm's own kernels only (ours are checked against them in tests)
  if (process.env.HCPROBE_WASM_KERNELS !== '0') registerWasmKernels(tf.backend());
  setMatmulMode('explicit');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { requested: 'wasm', active: 'wasm', device: `WebAssembly${simd ? ' + SIMD' : ''}, one thread` };
}

/** Whether Dawn offers a hardware adapter (not a software rasteriser): `auto` trains on it. */
export async function hardwareGpu(opts: BackendOptions = {}): Promise<boolean> {
  if (!hasVulkanLoader()) return false;
  const gpu = await webgpuAdapter(opts).catch(() => undefined);
  return gpu?.hardware ?? false;
}

/** Dawn reaches GPUs through the Vulkan loader; without it, probing only prints warnings. */
function hasVulkanLoader(): boolean {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':'), '/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu'];
  return dirs.some((d) => d !== '' && existsSync(`${d}/libvulkan.so.1`));
}

interface Adapter {
  hardware: boolean;
  description: string;
}

type Gpu = { requestAdapter(desc?: object): Promise<unknown> };

async function loadDawn(opts: BackendOptions): Promise<Gpu> {
  let dawn: { create(flags: string[]): Gpu; globals: object };
  try {
    dawn = require('webgpu');
  } catch {
    throw new ConfigError('backend "webgpu" needs the optional package "webgpu" (Dawn): npm install webgpu@0.6.2');
  }
  Object.assign(globalThis, dawn.globals);
  prepareSyncRead();
  // HCPROBE_DAWN_FLAGS: space-separated create() flags, e.g. "backend=null" (host cost alone) or
  // "enable-dawn-features=skip_validation"
  const fromEnv = (process.env.HCPROBE_DAWN_FLAGS ?? '').split(/\s+/).filter((f) => f !== '');
  return dawn.create([...fromEnv, ...(opts.dawnFlags ?? [])]);
}

async function webgpuAdapter(opts: BackendOptions): Promise<Adapter | undefined> {
  const gpu = await loadDawn(opts);
  const adapter = (await gpu.requestAdapter()) as { info?: { description?: string; vendor?: string; type?: string } } | null;
  if (!adapter) return undefined;
  const d = `${adapter.info?.vendor ?? ''} ${adapter.info?.description ?? ''}`.trim();
  // Software rasterisers answer too; they are slower than wasm, so auto skips them.
  const software = /llvmpipe|lavapipe|swiftshader|cpu/i.test(`${d} ${adapter.info?.type ?? ''}`);
  return { hardware: !software, description: d };
}

async function startWebgpu(opts: BackendOptions): Promise<BackendInfo> {
  const gpu = await loadDawn(opts);
  let seen: { info?: { vendor?: string; description?: string } } | null = null;
  const request = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = async (desc?: object) => {
    seen = (await request(desc)) as typeof seen;
    return seen;
  };
  // Node 20 has no navigator; Node 21+ has a getter-only one, hence defineProperty.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  require('@tensorflow/tfjs-backend-webgpu');
  const ok = await tf.setBackend('webgpu').catch(() => false);
  if (!ok) {
    shutdownBackend();
    throw new ConfigError('backend "webgpu": no WebGPU adapter found (is a Vulkan driver installed? see README, Backends)');
  }
  await tf.ready();
  installWebgpuNodeFixes();
  setMatmulMode('native');
  const info = (seen as { info?: { vendor?: string; description?: string } } | null)?.info;
  return { requested: 'webgpu', active: 'webgpu', device: `${info?.vendor ?? ''} ${info?.description ?? ''}`.trim() };
}

async function startNode(): Promise<BackendInfo> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require(pkg);
    } catch {
      continue;
    }
    if (await tf.setBackend('tensorflow')) {
      await tf.ready();
      setMatmulMode('native');
      return { requested: 'node', active: 'tensorflow', device: pkg };
    }
  }
  throw new ConfigError(
    'backend "node" needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu, which is not installed; ' +
      'its install downloads libtensorflow, so install it yourself where that works, or use --backend wasm|webgpu',
  );
}
