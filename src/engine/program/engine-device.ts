// The engine's own GPUDevice, straight from Dawn (the `webgpu` package), without tfjs: the step
// program owns every buffer, so it asks for the adapter's largest storage and workgroup limits.
/// <reference types="@webgpu/types" />
import { createRequire } from 'node:module';
import { ConfigError } from '../../errors.ts';

const require = createRequire(import.meta.url);

/** Every Dawn instance made here, held for the life of the process (see EngineDevice.gpu). */
const instances: GPU[] = [];

export interface EngineDevice {
  device: GPUDevice;
  /** Adapter vendor and description, e.g. "mesa llvmpipe (LLVM 19…)". */
  description: string;
  /** Dawn answered from a software rasteriser (lavapipe, llvmpipe, SwiftShader). */
  software: boolean;
  /**
   * Dawn's instance. It must stay referenced while the device is used: once it is garbage
   * collected, the next GPU work aborts the process ("terminate called after throwing an instance
   * of 'std::system_error'", measured on lavapipe), so this module also holds it.
   */
  gpu: GPU;
}

/** Limits the engine raises to the adapter's maximum (WebGPU's defaults are 128–256 MiB, 8 buffers, 16 KiB). */
const RAISED = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
] as const;

/**
 * A device on the first adapter Dawn offers; undefined when there is none. Dawn's create() flags
 * come from HCPROBE_DAWN_FLAGS (space-separated, e.g. "backend=null" or
 * "enable-dawn-features=disable_robustness") and `flags`.
 */
export async function requestEngineDevice(flags: string[] = []): Promise<EngineDevice | undefined> {
  let dawn: { create(flags: string[]): GPU; globals: object };
  try {
    dawn = require('webgpu');
  } catch {
    throw new ConfigError('the WebGPU engine needs the optional package "webgpu" (Dawn): npm install webgpu@0.6.2');
  }
  Object.assign(globalThis, dawn.globals); // GPUBufferUsage, GPUMapMode, GPUShaderStage
  const fromEnv = (process.env.HCPROBE_DAWN_FLAGS ?? '').split(/\s+/).filter((f) => f !== '');
  const gpu = dawn.create([...fromEnv, ...flags]);
  instances.push(gpu);
  const adapter = await gpu.requestAdapter();
  if (!adapter) return undefined;
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredLimits });
  // `info` is newer than the @webgpu/types in use; Dawn 0.6.2 has it.
  const info = (adapter as unknown as { info?: { vendor?: string; description?: string; architecture?: string } }).info ?? {};
  const description = `${info.vendor ?? ''} ${info.description ?? ''}`.trim();
  const software = /llvmpipe|lavapipe|swiftshader|cpu/i.test(`${description} ${info.architecture ?? ''}`);
  return { device, description, software, gpu };
}

/**
 * Runs `build` under WebGPU's out-of-memory and validation error scopes: a pipeline, binding or
 * allocation the device refuses (limits, memory) becomes a ConfigError naming `what` with `hint`,
 * and what was built is destroyed, instead of a warning on stderr and programs that do nothing.
 */
export async function buildChecked<T extends { destroy(): void }>(device: GPUDevice, what: string, hint: string, build: () => T): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let built: T | undefined;
  let thrown: unknown;
  try {
    built = build();
  } catch (e) {
    thrown = e;
  }
  const refused = (await device.popErrorScope()) ?? (await device.popErrorScope());
  if (thrown) throw thrown;
  if (refused) {
    built?.destroy();
    throw new ConfigError(`the WebGPU engine could not set up ${what} on this adapter (${refused.message.split('\n')[0]}); ${hint}`);
  }
  return built as T;
}
