/** Messages between the Lab page (labView.ts) and its worker (worker.ts). */
import type { MetricRow } from '../../../src/experiments/metricRows.ts';
import type { RunSummary } from '../../../src/experiments/runSink.ts';
import type { LabProvider } from './browserPlatform.ts';

/** Page → worker: run this config (a resolved config in the CLI's schema, as JSON). */
export interface StartMessage {
  readonly type: 'start';
  readonly config: unknown;
  /** Set η = lrTimesLambda0 / λ0 first, with λ0 the sharpness at initialization (the demo's recipe). */
  readonly lrTimesLambda0: number | null;
  /** URL of the MNIST asset (lab/mnist.bin, gzip). */
  readonly mnistUrl: string;
  /** The data files the user picked (fashion-mnist, cifar10: pickedFiles.ts); Files clone to the worker without a copy of their bytes. */
  readonly files: readonly File[];
}

/** Worker → page. */
export type WorkerMessage =
  | {
      readonly type: 'backend';
      readonly backend: LabProvider;
      /** The engine's backend the run uses: webgpu (device-resident) on WebGPU, ort on wasm. */
      readonly engine: 'webgpu' | 'ort';
      readonly why: string | null;
    }
  /** On webgpu: whether the training state stays in device memory (trainLoop's onResidency). */
  | { readonly type: 'residency'; readonly device: boolean; readonly why: string | null }
  | { readonly type: 'message'; readonly text: string }
  | { readonly type: 'lr'; readonly lambda0: number; readonly lr: number; readonly config: unknown }
  | { readonly type: 'start'; readonly steps: number; readonly params: number; readonly trainSize: number }
  | { readonly type: 'row'; readonly row: MetricRow }
  | {
      readonly type: 'done';
      readonly summary: RunSummary;
      readonly metrics: string;
      readonly elapsedMs: number;
      /** The run's device-graph runs by device outputs (EngineRuntime.deviceRuns; empty on wasm). */
      readonly deviceRuns: Readonly<Record<string, number>>;
    }
  | { readonly type: 'error'; readonly message: string };
