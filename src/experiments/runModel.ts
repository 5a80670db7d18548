/**
 * A run's model, data and parameters from its config and a saved state: the one place that
 * builds them, so training (runner.ts), resuming, checkpoint analysis (analysis.ts) and the
 * final test metrics of a run (maxLr.ts) agree on dtype, sample rows and tensor names.
 *
 * `openCheckpoint(dir, step)` opens RUN_DIR/checkpoints/step-N.safetensors for evaluation; its
 * `dispose()` frees the onnxruntime sessions and must run in a `finally`.
 */
import { Runtime } from '../engine/backend.ts';
import type { FloatArray } from '../engine/params.ts';
import { loadDataset, type LoadedData } from '../data/dataset.ts';
import type { Model } from '../nn/model.ts';
import { modelFeeds, objectiveSpec } from '../nn/losses.ts';
import { DatasetObjective } from '../train/datasetObjective.ts';
import type { Config } from './config.ts';
import { buildRunModel, runDtype, sampleRows, thetaFromTensors } from './runData.ts';
import { RunStore } from './runStore.ts';

export { buildRunModel, datasetTargets, runDtype, sampleRows, thetaFromTensors } from './runData.ts';

/** The configured Runtime; `config.threads` 0 means `defaultThreads` (undefined: onnxruntime's choice). */
export function createRunRuntime(config: Config, defaultThreads?: number): Runtime {
  return new Runtime({ backend: config.backend, threads: config.threads > 0 ? config.threads : defaultThreads });
}

/** A checkpoint opened for evaluation (see openCheckpoint). */
export interface OpenCheckpoint {
  readonly config: Config;
  readonly step: number;
  readonly data: LoadedData;
  readonly model: Model;
  /** Parameters at `step`, model.layout.size values. */
  readonly theta: FloatArray;
  /** BatchNorm running statistics saved with the checkpoint (null without BatchNorm). */
  readonly buffers: Float64Array | null;
  readonly dtype: 'float32' | 'float64';
  readonly runtime: Runtime;
  /**
   * The loss over the first `samples` (default all) rows of a split, with BatchNorm in `mode`
   * ('eval' uses the saved running statistics). Default split: train.
   */
  objective(o: {
    readonly mode: 'train' | 'eval';
    readonly split?: 'train' | 'test';
    readonly samples?: number;
  }): DatasetObjective;
  /** Frees the runtime's sessions; call in `finally`. */
  dispose(): Promise<void>;
}

/**
 * Opens RUN_DIR's checkpoint at `step` (default: the latest): its config, data, model and θ.
 * Throws naming the directory when there is no such checkpoint. `threads` applies when the
 * config's `threads` is 0.
 */
export async function openCheckpoint(
  dir: string,
  step?: number | null,
  o: { readonly threads?: number; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<OpenCheckpoint> {
  const store = new RunStore(dir);
  const { config } = store.readConfig();
  const have = store.listCheckpoints();
  const at = step ?? (have.length > 0 ? have[have.length - 1]! : null);
  if (at === null) throw new Error(`${dir}: no checkpoints`);
  if (!have.includes(at)) throw new Error(`${dir}: no checkpoint at step ${at} (have: ${have.join(', ') || 'none'})`);
  const data = await loadDataset({ ...config.data }, o.env ?? process.env);
  const model = buildRunModel(config, data);
  const dtype = runDtype(config);
  const ck = store.readCheckpoint(at);
  const theta = thetaFromTensors(model, ck.tensors, dtype, `${store.checkpointPath(at)}`);
  const saved = ck.tensors.find((t) => t.name === 'state.buffers');
  const buffers =
    model.buffers.length > 0
      ? Float64Array.from((saved?.data as unknown as ArrayLike<number> | undefined) ?? [])
      : null;
  // The runtime last: nothing above can leave sessions behind when it throws.
  const runtime = createRunRuntime(config, o.threads);
  return {
    config,
    step: at,
    data,
    model,
    theta,
    buffers,
    dtype,
    runtime,
    objective: ({ mode, split = 'train', samples }) => {
      const ds = split === 'train' ? data.train : data.test;
      const fixed = mode === 'eval' && buffers !== null ? modelFeeds(model, 'eval', { buffers }) : {};
      return new DatasetObjective(
        runtime,
        (b) => objectiveSpec(model, config.loss, b, mode, dtype),
        sampleRows(ds, samples ?? ds.n),
        config.train.chunk_size,
        fixed,
      );
    },
    dispose: () => runtime.dispose(),
  };
}
