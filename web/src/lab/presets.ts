/**
 * The Lab's presets: partial configs in the CLI's schema (src/experiments/config.ts fills the
 * rest), small enough to train in a browser tab in a minute or two.
 */

/** One preset; `lrTimesLambda0` sets η = that / λ0 after measuring λ0 at initialization (as `edgewise demo`). */
export interface LabPreset {
  readonly id: string;
  readonly title: string;
  readonly note: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly lrTimesLambda0: number | null;
}

// The demo's setup (src/cli/demo.ts: fc-tanh [200, 200], MSE, 1000 standardized digits) at half its width and data.
const mnistMlp = {
  data: { name: 'mnist', train_size: 500, test_size: 500, preprocess: 'standardize' },
  model: { arch: 'mlp', widths: [100, 100], activation: 'tanh' },
  loss: 'mse',
};

export const PRESETS: readonly LabPreset[] = [
  {
    id: 'eos',
    title: 'Edge of stability: GD at η = 3/λ0',
    note: 'Measures the sharpness λ0 at initialization, then trains with full-batch GD at η = 3/λ0: λ1 is pushed down to 2/η and hovers there while the loss falls non-monotonically.',
    config: {
      ...mnistMlp,
      optimizer: { name: 'gd', lr: 0.1 },
      train: { steps: 600, seed: 0 },
      curvature: { every: 10, top_k: 2, lanczos_iters: 20 },
      log: { every: 1, test_every: 50 },
    },
    lrTimesLambda0: 3,
  },
  {
    id: 'adam',
    title: 'Adam against 38/η',
    note: 'Full-batch Adam: the preconditioned sharpness λ1(P⁻¹H) rises to the threshold 38/η (β1 = 0.9) and hovers there.',
    config: {
      ...mnistMlp,
      optimizer: { name: 'adam', lr: 0.01 },
      train: { steps: 400, seed: 0 },
      curvature: { every: 10, top_k: 2, lanczos_iters: 20 },
      log: { every: 1, test_every: 50 },
    },
    lrTimesLambda0: null,
  },
  {
    id: 'sgd',
    title: 'SGD with minibatches of 50',
    note: 'Minibatch SGD: logged losses are over the whole training set; the sharpness stays below 2/η.',
    config: {
      ...mnistMlp,
      optimizer: { name: 'sgd', lr: 0.05, batch_size: 50 },
      train: { steps: 300, seed: 0 },
      curvature: { every: 20, top_k: 2, lanczos_iters: 20 },
      log: { every: 5, test_every: 50 },
    },
    lrTimesLambda0: null,
  },
  {
    id: 'gmm',
    title: 'Gaussian mixture (generated in the page)',
    note: 'Synthetic data: 3 Gaussian classes in R^10, a small tanh MLP, cross-entropy, GD.',
    config: {
      data: { name: 'synthetic-gmm', train_size: 500, test_size: 200 },
      model: { arch: 'mlp', widths: [32], activation: 'tanh' },
      loss: 'cross-entropy',
      optimizer: { name: 'gd', lr: 0.5 },
      train: { steps: 200, seed: 0 },
      curvature: { every: 10, top_k: 3, lanczos_iters: 20 },
      log: { every: 1, test_every: 20 },
    },
    lrTimesLambda0: null,
  },
];
