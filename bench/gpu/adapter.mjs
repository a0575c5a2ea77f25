// Prints the WebGPU adapter Dawn finds (npm `webgpu`), its features and main limits, as JSON.
// Run from the repository root: node bench/gpu/adapter.mjs [dawn-flag ...]
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.cwd(), 'package.json'));
const out = { ok: false };
try {
  const dawn = require('webgpu');
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(process.argv.slice(2));
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter) {
    const info = adapter.info ?? {};
    out.info = { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description };
    for (const k of ['type', 'backendType', 'driverDescription', 'subgroupMinSize', 'subgroupMaxSize']) if (info[k] !== undefined) out.info[k] = info[k];
    out.features = [...adapter.features].sort();
    const L = adapter.limits;
    out.limits = {};
    for (const k of [
      'maxBufferSize',
      'maxStorageBufferBindingSize',
      'maxComputeWorkgroupStorageSize',
      'maxComputeInvocationsPerWorkgroup',
      'maxComputeWorkgroupSizeX',
      'maxComputeWorkgroupsPerDimension',
    ])
      out.limits[k] = L[k];
    const device = await adapter.requestDevice();
    out.ok = !!device;
    device.destroy();
  } else out.error = 'requestAdapter returned null';
} catch (e) {
  out.error = String(e?.message ?? e);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(out.ok ? 0 : 1);
