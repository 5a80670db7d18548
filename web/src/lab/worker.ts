/**
 * The Lab's Web Worker: runs one training run of the CLI's training loop (trainLoop.ts) in the
 * browser, on onnxruntime-web's WebGPU provider when an adapter is available (the engine's
 * `webgpu` backend: training state and the Lanczos basis stay in device memory, as with
 * `edgewise train` and `backend: webgpu`), else on its wasm provider (the `ort` backend), and
 * posts the metric rows as they are written (protocol.ts). The page stops a run by terminating
 * the worker, so nothing here needs to be interruptible.
 */
import * as ort from 'onnxruntime-web/webgpu';
import {
  imagesFromSource,
  resolveDataSpec,
  syntheticDataset,
  type LoadedData,
} from '../../../src/data/datasetBytes.ts';
import type { ImageSource } from '../../../src/data/types.ts';
import { decodeMnistAsset } from '../../../src/data/mnistBytes.ts';
import { EngineRuntime } from '../../../src/engine/runtime.ts';
import { resolveConfig, type Config } from '../../../src/experiments/config.ts';
import { MemoryRunSink } from '../../../src/experiments/memorySink.ts';
import { serializeRow, type MetricRow } from '../../../src/experiments/metricRows.ts';
import { trainWith } from '../../../src/experiments/trainLoop.ts';
import { browserPlatform, webGpuMissing, type LabProvider } from './browserPlatform.ts';
import { isPickedSet, pickedSource, type PickedFile, type PickedSet } from './pickedFiles.ts';
import type { StartMessage, WorkerMessage } from './protocol.ts';

const post = (m: WorkerMessage): void => postMessage(m);

/** A memory sink that also posts each row to the page. */
class PostingSink extends MemoryRunSink {
  override appendMetrics(row: MetricRow): void {
    super.appendMetrics(row);
    post({ type: 'row', row: this.rows[this.rows.length - 1]! });
  }
}

/** The MNIST digits from the build's asset (gzip'd, see web/vite.config.ts), fetched once. */
let mnist: Promise<ReturnType<typeof decodeMnistAsset>> | null = null;
async function mnistSource(url: string): Promise<ReturnType<typeof decodeMnistAsset>> {
  mnist ??= (async () => {
    const res = await fetch(url);
    if (!res.ok || res.body === null) throw new Error(`cannot load the MNIST digits (${url}: HTTP ${res.status})`);
    const raw = await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
    return decodeMnistAsset(new Uint8Array(raw), 'lab/mnist.bin');
  })();
  return mnist;
}

/** Image sources built from the picked files, once per run (the λ0 probe and the run share them). */
const picked = new Map<PickedSet, Promise<ImageSource>>();

/**
 * The run's data as loadDataset gives it on Node: MNIST from the asset, Fashion-MNIST and CIFAR-10
 * from the files the user picked (data.dir is for the CLI and is not read here), synthetic sets
 * generated here.
 */
async function loadData(config: Config, msg: StartMessage): Promise<LoadedData> {
  const spec = resolveDataSpec({ ...config.data });
  if (spec.name === 'synthetic-gmm' || spec.name === 'synthetic-regression') return syntheticDataset(spec);
  if (spec.name === 'mnist') return imagesFromSource(spec, await mnistSource(msg.mnistUrl));
  if (isPickedSet(spec.name)) {
    const files: PickedFile[] = msg.files.map((f) => ({
      name: f.name,
      read: async () => new Uint8Array(await f.arrayBuffer()),
    }));
    let src = picked.get(spec.name);
    if (src === undefined) picked.set(spec.name, (src = pickedSource(spec.name, files)));
    return imagesFromSource(spec, await src);
  }
  throw new Error(
    `data.name: ${spec.name} is not available in the Lab (use mnist, fashion-mnist, cifar10, synthetic-gmm or synthetic-regression)`,
  );
}

async function run(msg: StartMessage): Promise<void> {
  const t0 = performance.now();
  const why = await webGpuMissing();
  const backend: LabProvider = why === null ? 'webgpu' : 'wasm';
  // WebGPU runs the engine's webgpu backend (device-resident state); wasm its ort backend.
  const engine = backend === 'webgpu' ? 'webgpu' : 'ort';
  post({ type: 'backend', backend, engine, why });
  // Threads need SharedArrayBuffer, i.e. a cross-origin isolated page (COOP/COEP headers).
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency) : 1;
  ort.env.logLevel = 'error';
  const platform = browserPlatform(ort, backend);
  /** The runs' runtimes, for the last one's device-graph counts (the loop disposes it; the counts stay). */
  const runtimes: EngineRuntime[] = [];
  let config = resolveConfig(msg.config);
  const host = {
    loadData: (c: Config) => loadData(c, msg),
    // The reference interpreter runs in JavaScript; every other config backend runs as `engine` on onnxruntime-web.
    createRuntime: (c: Config) => {
      const rt = new EngineRuntime({ backend: c.backend === 'reference' ? 'reference' : engine, platform, threads: 1 });
      runtimes.push(rt);
      return rt;
    },
  };
  const onResidency = (i: { device: boolean; why: string | null }): void => post({ type: 'residency', ...i });
  if (msg.lrTimesLambda0 !== null) {
    // λ0: one curvature measurement at the initialization (0 steps), as `edgewise demo` does.
    post({ type: 'message', text: 'measuring the sharpness λ0 at initialization…' });
    const probe = resolveConfig({ ...config, train: { ...config.train, steps: 0 } });
    const s0 = await trainWith(probe, new MemoryRunSink(), host, { events: { onResidency } });
    const lambda0 = s0.final.sharpness;
    if (typeof lambda0 !== 'number' || !(lambda0 > 0)) throw new Error('could not measure the initial sharpness λ0');
    const lr = msg.lrTimesLambda0 / lambda0;
    config = resolveConfig({ ...config, optimizer: { ...config.optimizer, lr } });
    post({ type: 'lr', lambda0, lr, config });
  }
  const sink = new PostingSink();
  const summary = await trainWith(config, sink, host, {
    events: {
      onStart: (i) => post({ type: 'start', steps: i.steps, params: i.params, trainSize: i.trainSize }),
      onMessage: (text) => post({ type: 'message', text }),
      onResidency,
    },
  });
  const metrics = sink.rows.map((r) => `${serializeRow(r)}\n`).join('');
  post({
    type: 'done',
    summary,
    metrics,
    elapsedMs: performance.now() - t0,
    deviceRuns: runtimes.at(-1)?.deviceRuns ?? {},
  });
}

self.onmessage = (e: MessageEvent<StartMessage>) => {
  if (e.data?.type !== 'start') return;
  run(e.data).catch((err: unknown) =>
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
  );
};
