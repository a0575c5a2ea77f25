// Runs a test's child script on a WebGPU adapter: Dawn reads its Vulkan environment when the
// process starts, so the webgpu checks run in a child process. HCPROBE_TEST_VULKAN names a folder
// made by scripts/lavapipe.sh (lib/ and icd.json; .ci/run sets it); without it the environment is
// used as it is (a machine with a GPU and a Vulkan loader). The child prints one JSON object,
// {"skip": reason} when it finds no adapter: the tests are then skipped, unless
// HCPROBE_TEST_VULKAN is set (as in CI), where a missing adapter is a broken setup and fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export interface ChildResult {
  skip?: string;
  [key: string]: unknown;
}

/** The environment for a process that should find the WebGPU adapter (lavapipe under HCPROBE_TEST_VULKAN). */
export function webgpuEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  const dir = process.env.HCPROBE_TEST_VULKAN;
  if (dir) {
    env.LD_LIBRARY_PATH = `${dir}/lib${env.LD_LIBRARY_PATH ? `:${env.LD_LIBRARY_PATH}` : ''}`;
    env.VK_ICD_FILENAMES = `${dir}/icd.json`;
  }
  return env;
}

export function runWebgpuChild(script: string): { result: ChildResult; skip: string | false } {
  const env = webgpuEnv();
  const dir = process.env.HCPROBE_TEST_VULKAN;
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${script} failed: ${r.stderr.slice(-2000)}`);
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as ChildResult;
  if (result.skip && dir) assert.fail(`HCPROBE_TEST_VULKAN=${dir} is set, but ${script} found no WebGPU adapter there (${result.skip}): run scripts/lavapipe.sh ${dir}, or unset HCPROBE_TEST_VULKAN to skip the webgpu tests`);
  const skip = result.skip ? `no WebGPU adapter (${result.skip}); run scripts/lavapipe.sh and set HCPROBE_TEST_VULKAN` : false;
  return { result, skip };
}
