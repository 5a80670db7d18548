/**
 * Whether onnxruntime-node's WebGPU execution provider finds an adapter on this machine, and if
 * not, what is missing (Vulkan loader, Vulkan driver, or an adapter that Dawn accepts).
 *
 * The check runs in a child process because (1) Dawn, inside onnxruntime, prints its reasons on
 * the native stderr, which we capture there and fold into one line, and (2) onnxruntime keeps
 * its WebGPU context, failed or not, for the life of the process: a failed in-process attempt
 * could not be retried after fixing the environment.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../builder.ts';
import * as o from '../ops.ts';
import { lowerToOnnx } from '../onnx/lower.ts';
import { encodeModel } from '../onnx/proto.ts';

/** Debian's Chromium ships SwiftShader, a Vulkan driver on the CPU that Dawn accepts (tests, CI). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const PROBE_INPUT = [1, 2, 3];
const PROBE_SCRIPT = `
const ort = require(process.env.EDGEWISE_ORT_PATH);
const bytes = Buffer.from(process.env.EDGEWISE_PROBE_MODEL, 'base64');
ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], logSeverityLevel: 3 })
  .then((s) => s.run({ x: new ort.Tensor('float32', Float32Array.from(${JSON.stringify(PROBE_INPUT)}), [3]) }))
  .then((r) => { process.stdout.write('OK ' + JSON.stringify(Array.from(r.y.data))); process.exit(0); })
  .catch((e) => { process.stdout.write('ERR ' + String(e && e.message || e)); process.exit(3); });
`;

type Env = Readonly<Record<string, string | undefined>>;

/** Colon-separated paths from an environment variable (empty entries dropped). */
function envPaths(env: Env, name: string): string[] {
  return (env[name] ?? '').split(':').filter((s) => s.length > 0);
}

/** Whether the Vulkan loader (libvulkan.so.1) can be found by the dynamic linker (Linux). */
export function vulkanLoaderPresent(env: Env = process.env): boolean {
  const dirs = [
    ...envPaths(env, 'LD_LIBRARY_PATH'),
    '/lib/x86_64-linux-gnu',
    '/usr/lib/x86_64-linux-gnu',
    '/lib/aarch64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/lib64',
    '/usr/lib',
    '/lib',
    '/usr/local/lib',
  ];
  if (dirs.some((d) => existsSync(path.join(d, 'libvulkan.so.1')))) return true;
  try {
    // The dynamic linker's cache lists every library ldconfig knows, by name.
    return readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1');
  } catch {
    return false;
  }
}

/** Vulkan driver manifests (ICD JSON files) the Vulkan loader would read, as it searches for them. */
export function vulkanDrivers(env: Env = process.env): string[] {
  const explicit = [...envPaths(env, 'VK_DRIVER_FILES'), ...envPaths(env, 'VK_ICD_FILENAMES')];
  const dirs =
    explicit.length > 0
      ? explicit
      : [
          ...envPaths(env, 'XDG_CONFIG_DIRS').map((d) => path.join(d, 'vulkan/icd.d')),
          '/etc/xdg/vulkan/icd.d',
          '/etc/vulkan/icd.d',
          ...envPaths(env, 'XDG_DATA_DIRS').map((d) => path.join(d, 'vulkan/icd.d')),
          '/usr/local/share/vulkan/icd.d',
          '/usr/share/vulkan/icd.d',
          path.join(os.homedir(), '.local/share/vulkan/icd.d'),
        ];
  const found = new Set<string>();
  for (const p of [...dirs, ...envPaths(env, 'VK_ADD_DRIVER_FILES')]) {
    if (p.endsWith('.json')) {
      if (existsSync(p)) found.add(p);
      continue;
    }
    try {
      for (const f of readdirSync(p)) if (f.endsWith('.json')) found.add(path.join(p, f));
    } catch {
      // a directory that does not exist holds no drivers
    }
  }
  return [...found];
}

/** What a failed probe means, as one line: which piece is missing and how to add it. */
export function diagnose(probeError: string, nativeLog: string, env: Env = process.env): string {
  const base = 'backend webgpu: no WebGPU adapter';
  if (!ort.listSupportedBackends().some((b) => b.name === 'webgpu')) {
    return `${base}: this build of onnxruntime-node has no WebGPU execution provider`;
  }
  if (process.platform !== 'linux') return `${base}: ${probeError.split('\n')[0]}`;
  const software = existsSync(SWIFTSHADER_ICD)
    ? `for a software device on the CPU, set VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`
    : 'for a software device on the CPU, install chromium (it ships SwiftShader) and set VK_ICD_FILENAMES=' +
      SWIFTSHADER_ICD;
  // Dawn's own words first; our file search only when Dawn said nothing about Vulkan.
  const noLoader = /libvulkan\.so\.1: cannot open|Couldn't load Vulkan/.test(nativeLog);
  if (noLoader || (!nativeLog.includes('Vulkan') && !vulkanLoaderPresent(env))) {
    return `${base}: the Vulkan loader libvulkan.so.1 is not installed (Debian/Ubuntu: apt-get install libvulkan1)`;
  }
  const drivers = vulkanDrivers(env);
  if (drivers.length === 0) {
    const named = [...envPaths(env, 'VK_DRIVER_FILES'), ...envPaths(env, 'VK_ICD_FILENAMES')];
    const where = named.length > 0 ? `none at ${named.join(':')}` : 'none installed';
    return `${base}: no Vulkan driver found (${where}; install the GPU's Vulkan driver, e.g. NVIDIA's with its ICD file; ${software})`;
  }
  // Dawn says why it turned a device down in lines like "Warning: Vulkan <feature> required."
  const reasons = [
    ...new Set(
      nativeLog
        .split('\n')
        .filter((l) => /^Warning: /.test(l))
        .map((l) => l.slice(9).trim()),
    ),
  ];
  const names = drivers.map((d) => path.basename(d)).join(', ');
  const lavapipe = drivers.some((d) => path.basename(d).startsWith('lvp_icd'))
    ? "Mesa 22's lavapipe lacks features WebGPU needs; "
    : '';
  return (
    `${base}: Dawn accepted none of the Vulkan drivers (${names})` +
    (reasons.length > 0 ? `: ${reasons.join('; ')}` : '') +
    ` (${lavapipe}${software})`
  );
}

function probeModel(): Uint8Array {
  const b = new GraphBuilder();
  const x = b.input('x', [3], 'float32');
  return encodeModel(lowerToOnnx(b.build({ y: o.add(o.mul(x, x), x) })));
}

/**
 * Runs a tiny graph on the WebGPU provider in a child process with environment `baseEnv`;
 * resolves, or rejects with an Error naming what is missing.
 */
export function probeWebGpu(baseEnv: Env = process.env, timeoutMs = 120_000): Promise<void> {
  const env = {
    ...baseEnv,
    EDGEWISE_ORT_PATH: createRequire(import.meta.url).resolve('onnxruntime-node'),
    EDGEWISE_PROBE_MODEL: Buffer.from(probeModel()).toString('base64'),
  };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', PROBE_SCRIPT],
      { env, timeout: timeoutMs, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        const want = PROBE_INPUT.map((v) => v * v + v);
        if (!err && stdout.startsWith('OK ')) {
          const got = JSON.parse(stdout.slice(3)) as number[];
          if (got.length === want.length && got.every((v, i) => v === want[i])) return resolve();
          return reject(
            new Error(
              `backend webgpu: the WebGPU adapter computed x²+x wrong: got [${got.join(', ')}], want [${want.join(', ')}]`,
            ),
          );
        }
        if (err && (err as { killed?: boolean }).killed) {
          return reject(
            new Error(`backend webgpu: probing for a WebGPU adapter did not finish in ${timeoutMs / 1000} s`),
          );
        }
        const msg = stdout.startsWith('ERR ') ? stdout.slice(4) : `${err?.message ?? 'probe failed'} ${stderr}`;
        reject(new Error(diagnose(msg, stderr, baseEnv)));
      },
    );
  });
}

// Process-wide because onnxruntime's WebGPU context is process-wide; only a success is kept.
let ready: Promise<void> | undefined;

/** Resolves once a WebGPU adapter is known to work in this process's environment; rejects with a one-line Error otherwise. */
export function ensureWebGpuAdapter(): Promise<void> {
  if (!ready) {
    ready = probeWebGpu();
    ready.catch(() => (ready = undefined));
  }
  return ready;
}
