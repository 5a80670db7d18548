/**
 * The training loop of one run, without Node (runner.ts wires it to a run directory on Node; the
 * Lab's browser worker to an in-memory sink): data, model, optimizer, the training loop with
 * curvature measurements, metrics rows, checkpoints and the summary, written to a RunSink. The
 * host supplies the data, the runtime and where density snapshots go.
 *
 * Determinism: every random choice derives from the config's seeds and the step number (the
 * minibatch of step t, the Lanczos start vector of the measurement at step t), and the resume
 * state holds θ, the optimizer's moments, BatchNorm buffers and the previous eigenvectors, so a
 * resumed run reproduces the uninterrupted one bit for bit on the same machine.
 */
import type { EngineRuntime } from '../engine/runtime.ts';
import type { FloatArray } from '../engine/params.ts';
import type { LoadedData } from '../data/datasetBytes.ts';
import type { Model } from '../nn/model.ts';
import { objectiveSpec, modelFeeds } from '../nn/losses.ts';
import { initializeModel, initReport } from '../nn/initialize.ts';
import { paramLrScale } from '../nn/init.ts';
import { updateRunningStats } from '../nn/model.ts';
import {
  createOptimizer,
  createSchedule,
  createBatchSampler,
  clipGradNorm,
  globalNorm,
  isAdaptive,
  preconditionerDiagonal,
  stabilityThreshold,
  type OptimizerConfig,
  type OptimizerState,
} from '../train/index.ts';
import { DatasetObjective, type SampleData } from '../train/datasetObjective.ts';
import { DeviceTraining, deviceTrainingUnsupported } from '../train/deviceTraining.ts';
import { measureCurvature } from '../curvature/measure.ts';
import { createRng } from '../util/random.ts';
import type { Config } from './config.ts';
import type { FinalMetrics, RunSink, RunSummary } from './runSink.ts';
import { buildRunModel, runDtype, sampleRows, thetaFromTensors } from './runData.ts';
import type { SafetensorsContent, TensorInput } from './safetensorsBytes.ts';

/** A metrics row as written to metrics.jsonl. */
export type MetricRow = Record<string, number | string | boolean | null | number[] | boolean[]>;

export interface RunEvents {
  /** Once the model and data are ready. */
  onStart?(info: { steps: number; startStep: number; params: number; trainSize: number; resumed: boolean }): void;
  /** After each logged metrics row. */
  onRow?(row: MetricRow): void;
  /** Informational messages (init, resume). */
  onMessage?(text: string): void;
  /**
   * On webgpu, once training starts: whether θ, the gradient and the optimizer state stay in
   * device memory (`why` is null) or the update runs on the host (`why` says why).
   */
  onResidency?(info: { device: boolean; why: string | null }): void;
}

/** What the loop needs from its host: the run's data, a runtime, and where density snapshots go. */
export interface TrainHost {
  /** The run's data (called after the config is recorded, so a load error fails the run). */
  loadData(config: Config): Promise<LoadedData>;
  /** The runtime the run's graphs execute on (disposed by the loop). */
  createRuntime(config: Config): EngineRuntime;
  /** Records a spectral density snapshot (curvature.density_every); without it densities are dropped. */
  writeDensity?(step: number, value: unknown): void;
}

/** How a run is driven: resume, events and stopping. */
export interface TrainOptions {
  /** Continue an interrupted run from the sink's resume state. */
  resume?: boolean;
  events?: RunEvents;
  /** Set to stop after the current step (e.g. on SIGINT); the run stays resumable. */
  signal?: AbortSignal;
}

/** Steps between rolling resume states (RunSink.writeResume). */
export const RESUME_EVERY = 50;

interface State {
  step: number;
  theta: FloatArray;
  opt: OptimizerState;
  buffers: Float64Array;
  prevEigvecs: Float64Array[] | null;
  /** θ at the previous curvature measurement (for param_displacement); kept in the resume state. */
  prevCurvTheta: Float64Array | null;
  /**
   * train.stop_after_edge: whether the curvature has been measured below its level (a run that
   * starts above it, a catapult, must fall below first), and the step at which it then first
   * reached it (null: not yet).
   */
  edge: { below: boolean; step: number | null };
  final: Partial<FinalMetrics>;
}

function optimizerConfig(c: Config): OptimizerConfig {
  const o = c.optimizer;
  return {
    name: o.name,
    momentum: o.momentum,
    beta1: o.beta1,
    beta2: o.beta2,
    eps: o.eps,
    weight_decay: o.weight_decay,
    clip_denominator: o.clip_denominator,
  };
}

function gatherRows(s: SampleData, idx: Int32Array): SampleData {
  const arrays: Record<string, Float32Array> = {};
  for (const [k, a] of Object.entries(s.arrays)) {
    const row = a.length / s.n;
    const out = new Float32Array(idx.length * row);
    idx.forEach((r, i) => out.set(a.subarray(r * row, (r + 1) * row), i * row));
    arrays[k] = out;
  }
  return { n: idx.length, arrays };
}

const finiteOrNull = (v: number | undefined): number | null => (v === undefined || !Number.isFinite(v) ? null : v);

function stateTensors(model: Model, s: State): { tensors: TensorInput[]; metadata: Record<string, string> } {
  const tensors: TensorInput[] = [];
  const views = model.layout.split(s.theta);
  for (const p of model.params) tensors.push({ name: p.name, shape: p.shape.slice(), data: views[p.name]! });
  if (model.buffers.length > 0) {
    const bv = model.bufferLayout.split(s.buffers);
    for (const b of model.buffers)
      tensors.push({ name: b.name, shape: b.shape.slice(), data: Float32Array.from(bv[b.name]!) });
  }
  const opt = s.opt as unknown as Record<string, unknown>;
  for (const key of ['buf', 'm', 'v']) {
    const a = opt[key];
    if (a instanceof Float64Array) tensors.push({ name: `optimizer.${key}`, shape: [a.length], data: a });
  }
  if (model.buffers.length > 0) tensors.push({ name: 'state.buffers', shape: [s.buffers.length], data: s.buffers });
  (s.prevEigvecs ?? []).forEach((v, i) => tensors.push({ name: `curvature.eigvec.${i}`, shape: [v.length], data: v }));
  if (s.prevCurvTheta)
    tensors.push({ name: 'curvature.theta', shape: [s.prevCurvTheta.length], data: s.prevCurvTheta });
  return {
    tensors,
    metadata: {
      step: String(s.step),
      'optimizer.t': String(s.opt.t),
      'optimizer.kind': s.opt.kind,
      final: JSON.stringify(s.final),
      'edge.below': String(s.edge.below),
      ...(s.edge.step !== null ? { 'edge.step': String(s.edge.step) } : {}),
    },
  };
}

function restoreState(model: Model, saved: SafetensorsContent, file: string, template: State): State {
  const { tensors, metadata } = saved;
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const get = (name: string) => {
    const t = byName.get(name);
    if (!t) throw new Error(`${file}: missing tensor '${name}'`);
    return t.data as unknown as ArrayLike<number>;
  };
  const theta = thetaFromTensors(model, tensors, template.theta instanceof Float32Array ? 'float32' : 'float64', file);
  const opt = template.opt as unknown as Record<string, unknown>;
  for (const key of ['buf', 'm', 'v']) {
    if (opt[key] instanceof Float64Array) (opt[key] as Float64Array).set(get(`optimizer.${key}`));
  }
  template.opt.t = Number(metadata['optimizer.t']);
  const buffers = model.buffers.length > 0 ? Float64Array.from(get('state.buffers')) : template.buffers;
  const prev: Float64Array[] = [];
  for (let i = 0; byName.has(`curvature.eigvec.${i}`); i++) prev.push(Float64Array.from(get(`curvature.eigvec.${i}`)));
  return {
    step: Number(metadata.step),
    theta,
    opt: template.opt,
    buffers,
    prevEigvecs: prev.length > 0 ? prev : null,
    prevCurvTheta: byName.has('curvature.theta') ? Float64Array.from(get('curvature.theta')) : null,
    edge: {
      below: metadata['edge.below'] === 'true',
      step: metadata['edge.step'] !== undefined ? Number(metadata['edge.step']) : null,
    },
    final: JSON.parse(metadata.final ?? '{}') as Partial<FinalMetrics>,
  };
}

/** Trains one run as configured into `store`; returns the summary (divergence is a result, not an error). */
export async function trainWith(
  config: Config,
  store: RunSink,
  host: TrainHost,
  opts: TrainOptions = {},
): Promise<RunSummary> {
  const ev = opts.events ?? {};
  const resumeFile = store.resumePath;
  const resuming = opts.resume === true && store.hasResume();
  if (!resuming) store.writeConfig(config);
  const t0 = performance.now();
  let state: State | null = null;
  let runtime: EngineRuntime | null = null;
  try {
    return await runLoop(
      config,
      store,
      host,
      opts,
      ev,
      resuming,
      resumeFile,
      t0,
      (s) => (state = s),
      (r) => (runtime = r),
    );
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const st = state as State | null;
    store.finish('failed', msg, st?.step ?? 0, st?.final ?? {});
    throw err;
  } finally {
    store.close();
    // Frees the onnxruntime sessions (a process may train several runs, e.g. `edgewise demo`).
    await (runtime as EngineRuntime | null)?.dispose();
  }
}

async function runLoop(
  config: Config,
  store: RunSink,
  host: TrainHost,
  opts: TrainOptions,
  ev: RunEvents,
  resuming: boolean,
  resumeFile: string,
  t0: number,
  expose: (s: State) => void,
  exposeRuntime: (r: EngineRuntime) => void,
): Promise<RunSummary> {
  const c = config;
  const data = await host.loadData(c);
  const model = buildRunModel(c, data);
  const dtype = runDtype(c);
  const runtime = host.createRuntime(c);
  exposeRuntime(runtime);
  const loss = c.loss;
  const hasBn = model.buffers.length > 0;
  const train = sampleRows(data.train);
  const test = sampleRows(data.test);
  const chunk = c.train.chunk_size;
  const trainObj = new DatasetObjective(runtime, (b) => objectiveSpec(model, loss, b, 'train', dtype), train, chunk);
  const evalSpec = (b: number) => objectiveSpec(model, loss, b, 'eval', dtype);
  const testObj = new DatasetObjective(runtime, evalSpec, test, chunk);
  const curvSamples = c.curvature.samples === 'all' ? train.n : Math.min(c.curvature.samples, train.n);
  const curvMode = hasBn ? c.curvature.bn_mode : 'train';
  const curvObj = new DatasetObjective(
    runtime,
    (b) => objectiveSpec(model, loss, b, curvMode, dtype),
    sampleRows(data.train, curvSamples),
    chunk,
  );
  const optCfg = optimizerConfig(c);
  const optimizer = createOptimizer(optCfg);
  const schedule = createSchedule(
    {
      warmup_steps: c.schedule.warmup_steps,
      decay: c.schedule.decay,
      total_steps: c.train.steps,
      min_lr: c.schedule.min_lr,
      gamma: c.schedule.gamma,
      step_size: c.schedule.step_size ?? undefined,
    },
    c.optimizer.lr,
  );
  const full = c.optimizer.batch_size === 'full';
  const sampler = full
    ? null
    : createBatchSampler({ n: train.n, batch_size: c.optimizer.batch_size, seed: c.train.seed });
  const precond = c.curvature.preconditioned === 'auto' ? isAdaptive(optCfg.name as never) : c.curvature.preconditioned;
  // Per-parameter η multipliers (Fixup's biases and scalar multipliers train at η/10).
  const lrScale = paramLrScale(model, model.config.init) ?? undefined;

  // Initialization (seeded), or the saved resume state.
  let state: State;
  if (resuming) {
    const template: State = {
      step: 0,
      theta: dtype === 'float32' ? new Float32Array(model.layout.size) : new Float64Array(model.layout.size),
      opt: optimizer.init(model.layout.size),
      buffers: new Float64Array(model.bufferLayout.size),
      prevEigvecs: null,
      prevCurvTheta: null,
      edge: { below: false, step: null },
      final: {},
    };
    state = restoreState(model, store.readResume(), resumeFile, template);
    store.truncateMetrics(state.step - 1);
    store.removeCheckpointsAfter(state.step);
    ev.onMessage?.(`resuming from step ${state.step}`);
  } else {
    const rng = createRng(c.train.seed);
    const initBatch = gatherRows(
      train,
      Int32Array.from({ length: Math.min(256, train.n) }, (_, i) => i),
    );
    const oc = c.optimizer;
    const trainOpt = { name: oc.name, lr: oc.lr, momentum: oc.momentum, beta2: oc.beta2, eps: oc.eps };
    const init = await initializeModel(model, {
      rng,
      runtime,
      loss,
      batch: { x: initBatch.arrays.x!, y: initBatch.arrays.y! },
      optimizer: trainOpt,
    });
    if (init.metainit)
      ev.onMessage?.(
        `MetaInit: gradient quotient ${init.metainit.initialGQ.toPrecision(4)} → ${init.metainit.gq.toPrecision(4)}`,
      );
    if (init.gradinit) ev.onMessage?.(`GradInit: feasible=${init.gradinit.feasible}`);
    const report = initReport(model, init);
    if (report) store.writeInit(report);
    state = {
      step: 0,
      theta: dtype === 'float32' ? Float32Array.from(init.params) : Float64Array.from(init.params),
      opt: optimizer.init(model.layout.size),
      buffers: Float64Array.from(init.buffers),
      prevEigvecs: null,
      prevCurvTheta: null,
      edge: { below: false, step: null },
      final: {},
    };
  }
  expose(state);
  store.markRunning(state.step, state.final);
  ev.onStart?.({
    steps: c.train.steps,
    startStep: state.step,
    params: model.layout.size,
    trainSize: train.n,
    resumed: resuming,
  });

  // On webgpu, training keeps θ, the gradient and the optimizer state in device memory (and
  // gathers minibatches there); the host copies in `state` are brought up to date (pulled)
  // wherever they are read.
  const batchSize = full ? 'full' : sampler!.batchSize;
  const deviceWhy = hasBn
    ? 'BatchNorm statistics are updated on the host'
    : !(state.theta instanceof Float32Array)
      ? 'θ is not float32'
      : deviceTrainingUnsupported(trainObj, batchSize);
  const device =
    runtime.backend === 'webgpu' && deviceWhy === null
      ? await DeviceTraining.start(trainObj, optimizer, state.theta as Float32Array, state.opt, batchSize, lrScale)
      : null;
  if (runtime.backend === 'webgpu') {
    ev.onResidency?.({ device: device !== null, why: device ? null : deviceWhy });
    ev.onMessage?.(
      device
        ? 'webgpu: parameters, gradient and optimizer state stay in device memory'
        : `webgpu: the update runs on the host (${deviceWhy})`,
    );
  }
  /** Brings state.theta and state.opt's buffers up to date with the device. */
  const pull = async (): Promise<void> => {
    if (device?.stale) await device.pull(state.theta, state.opt);
  };
  const saveResume = async (s: State) => {
    await pull();
    const { tensors, metadata } = stateTensors(model, s);
    store.writeResume(tensors, metadata);
  };
  const checkpoint = async (s: State) => {
    await pull();
    const { tensors, metadata } = stateTensors(model, s);
    store.writeCheckpoint(s.step, tensors, metadata);
  };
  try {
    return await trainSteps();
  } finally {
    device?.dispose();
  }

  async function trainSteps(): Promise<RunSummary> {
    if (!resuming) {
      await checkpoint(state);
      await saveResume(state);
    }
    const curvEvery = c.curvature.every;
    const isCurvStep = (s: number) =>
      (curvEvery > 0 && s % curvEvery === 0) ||
      (c.curvature.early_every > 0 && s < c.curvature.early_steps && s % c.curvature.early_every === 0) ||
      (curvEvery > 0 && s === c.train.steps);
    const elapsedBase = resuming ? (store.readSummary()?.elapsed_s ?? 0) : 0;

    for (let s = state.step; ; s++) {
      state.step = s;
      const lr = schedule(s);
      const evalMode = hasBn ? modelFeeds(model, 'eval', { buffers: state.buffers }) : {};
      testObj.setFixed(evalMode);
      if (curvMode === 'eval') curvObj.setFixed(evalMode);
      const logStep = s % c.log.every === 0 || s === c.train.steps || isCurvStep(s);
      const idx = full ? undefined : sampler!.batch(s);
      // The gradient at θ_s (full batch or the step's minibatch), and the loss and metrics on it.
      let grad: FloatArray | null = null;
      let g: { loss: number; metrics: Record<string, number>; gradNorm: number; paramNorm: number };
      let aux: Record<string, Float64Array> = {};
      if (device) g = await device.gradient(idx);
      else {
        const batchObj = idx ? trainObj.withSamples(gatherRows(train, idx)) : trainObj;
        const h = await batchObj.lossAndGrad(state.theta);
        grad = h.grad;
        aux = h.aux;
        g = { ...h, gradNorm: globalNorm(grad), paramNorm: globalNorm(state.theta) };
      }
      const { gradNorm, paramNorm } = g;
      let trainLoss = g.loss;
      let trainAcc = g.metrics.accuracy ?? null;
      // With minibatches, logged rows report the loss on the whole training set.
      if (idx && logStep) {
        await pull();
        const e = await trainObj.evaluate(state.theta);
        trainLoss = e.loss;
        trainAcc = e.metrics.accuracy ?? null;
      }
      const diverged =
        !Number.isFinite(trainLoss) || !Number.isFinite(gradNorm)
          ? `non-finite ${Number.isFinite(trainLoss) ? 'gradient' : 'train loss'} at step ${s}`
          : c.train.divergence_loss !== null && trainLoss > c.train.divergence_loss
            ? `train loss ${trainLoss.toPrecision(4)} above train.divergence_loss ${c.train.divergence_loss} at step ${s}`
            : null;
      const threshold = stabilityThreshold(optCfg, lr);
      const row: MetricRow = {
        step: s,
        lr,
        train_loss: finiteOrNull(trainLoss),
        train_acc: trainAcc === null ? null : finiteOrNull(trainAcc),
        grad_norm: finiteOrNull(gradNorm),
        param_norm: finiteOrNull(paramNorm),
      };
      // With minibatches the loss and accuracy of an unlogged step are the minibatch's: the final
      // values and the stop targets use whole-training-set values only (a batch of 16 is often 100 %
      // correct long before the training set is).
      const wholeSet = !idx || logStep;
      if (wholeSet) state.final = { ...state.final, train_loss: finiteOrNull(trainLoss), train_acc: trainAcc };
      // A run that stops here (target reached) gets its test metrics at this step too.
      const stopLoss = wholeSet && c.train.stop_train_loss !== null && trainLoss <= c.train.stop_train_loss;
      const stopAcc =
        wholeSet && c.train.stop_train_acc !== null && trainAcc !== null && trainAcc >= c.train.stop_train_acc;
      const edge = c.train.stop_after_edge;
      const edgeStop = () => edge !== null && state.edge.step !== null && s >= state.edge.step + edge.steps;
      const testStep =
        (c.log.test_every > 0 && (s % c.log.test_every === 0 || s === c.train.steps)) ||
        ((stopLoss || stopAcc || edgeStop()) && !diverged);
      if (!diverged && (testStep || s === c.train.steps)) {
        await pull();
        const e = await testObj.evaluate(state.theta);
        row.test_loss = finiteOrNull(e.loss);
        row.test_acc = finiteOrNull(e.metrics.accuracy ?? NaN);
        state.final = { ...state.final, test_loss: row.test_loss, test_acc: row.test_acc };
      }
      // What this step's measurement replaces: an interruption before θ_s → θ_{s+1} saves these, so
      // that the resumed run, which measures step s again, compares it with step s's predecessor.
      const beforeMeasure = { prevEigvecs: state.prevEigvecs, prevCurvTheta: state.prevCurvTheta };
      if (!diverged && isCurvStep(s)) {
        await pull();
        const P = precond ? preconditionerDiagonal(optCfg.name, optCfg, state.opt) : null;
        const m = await measureCurvature(curvObj, state.theta, {
          topK: c.curvature.top_k,
          matrix: c.curvature.matrix,
          iterations: c.curvature.lanczos_iters,
          reorthogonalization: c.curvature.reorthogonalization,
          seed: c.train.seed * 100003 + s,
          preconditioner: P,
          previous: c.curvature.rotation ? state.prevEigvecs : null,
          traceProbes: c.curvature.trace_every > 0 && s % c.curvature.trace_every === 0 ? c.curvature.trace_probes : 0,
          smallest: c.curvature.lambda_min_every > 0 && s % c.curvature.lambda_min_every === 0,
          density:
            c.curvature.density_every > 0 && s % c.curvature.density_every === 0
              ? { runs: c.curvature.density_probes, steps: c.curvature.density_iters }
              : null,
        });
        if (m.sharpness !== undefined) {
          row.sharpness = m.sharpness;
          row.eigs = m.eigs ?? null;
          row.residuals = m.residuals ?? null;
        }
        if (m.ggn_sharpness !== undefined) {
          row.ggn_sharpness = m.ggn_sharpness;
          row.ggn_eigs = m.ggn_eigs ?? null;
        }
        if (m.eigvec_cos !== null) row.eigvec_cos = m.eigvec_cos;
        if (m.subspace_overlap !== null) row.subspace_overlap = m.subspace_overlap;
        if (m.eigvec_subspace_cos !== null) row.eigvec_subspace_cos = m.eigvec_subspace_cos;
        if (m.lambda_min !== undefined) row.lambda_min = m.lambda_min;
        // ‖θ_s − θ at the previous measurement‖: rotation per unit distance travelled (studies/rotation).
        const prevTheta = state.prevCurvTheta;
        if (prevTheta !== null) {
          let d2 = 0;
          for (let i = 0; i < prevTheta.length; i++) d2 += (state.theta[i]! - prevTheta[i]!) ** 2;
          row.param_displacement = Math.sqrt(d2);
        }
        state.prevCurvTheta = Float64Array.from(state.theta);
        if (m.precond_sharpness !== undefined) row.precond_sharpness = m.precond_sharpness;
        if (m.trace !== undefined) {
          row.trace = m.trace;
          row.trace_stderr = m.trace_stderr ?? null;
        }
        if (m.density) host.writeDensity?.(s, { step: s, ...m.density });
        if (hasBn) row.bn_mode = curvMode;
        row.hvps = m.hvps;
        state.prevEigvecs = c.curvature.rotation ? m.eigvecs : null;
        if (m.sharpness !== undefined) state.final = { ...state.final, sharpness: m.sharpness };
        const measured = threshold.quantity === 'sharpness' ? m.sharpness : m.precond_sharpness;
        if (edge !== null && state.edge.step === null && measured !== undefined) {
          if (measured < edge.fraction * threshold.value) state.edge = { below: true, step: null };
          else if (state.edge.below) state.edge = { below: true, step: s };
        }
        if (edge !== null && state.edge.step === s) {
          ev.onMessage?.(
            `${threshold.quantity === 'sharpness' ? 'λ1' : 'λ1(P⁻¹H)'} reached ${edge.fraction}·threshold from below at step ${s}: stopping at step ${Math.min(c.train.steps, s + edge.steps)}`,
          );
        }
      }
      if (isCurvStep(s) || logStep) {
        row.threshold = threshold.value;
        row.threshold_quantity = threshold.quantity;
      }
      row.elapsed_s = elapsedBase + (performance.now() - t0) / 1000;
      if (logStep || diverged || testStep) {
        store.appendMetrics(row as never);
        ev.onRow?.(row);
      }
      // Outcomes.
      if (diverged) {
        return store.finish('diverged', diverged, s, state.final);
      }
      const stopEdge = edgeStop();
      if (stopLoss || stopAcc || stopEdge || s >= c.train.steps) {
        await checkpoint(state);
        await saveResume(state);
        const reason = stopLoss
          ? `train loss ${trainLoss.toPrecision(4)} ≤ train.stop_train_loss at step ${s}`
          : stopAcc
            ? `train accuracy ${trainAcc} ≥ train.stop_train_acc at step ${s}`
            : stopEdge && s < c.train.steps
              ? `${edge!.steps} steps after the curvature first reached ${edge!.fraction}·threshold from below (step ${state.edge.step})`
              : null;
        return store.finish('completed', reason, s, state.final);
      }
      if (opts.signal?.aborted) {
        await saveResume({ ...state, ...beforeMeasure });
        return store.finish('failed', `interrupted at step ${s} (continue with --resume)`, s, state.final);
      }
      // The update θ_s → θ_{s+1}.
      if (device) await device.step(state.opt, lr, gradNorm, c.clip.max_norm);
      else {
        clipGradNorm(grad!, c.clip.max_norm);
        optimizer.step(state.opt, state.theta, grad!, lr, lrScale);
      }
      if (hasBn && Object.keys(aux).length > 0) {
        state.buffers = updateRunningStats(
          model,
          state.buffers,
          aux,
          full ? Math.min(chunk, train.n) : sampler!.batchSize,
        );
      }
      state.step = s + 1;
      if (c.train.checkpoint_every > 0 && state.step % c.train.checkpoint_every === 0) await checkpoint(state);
      if (state.step % RESUME_EVERY === 0) await saveResume(state);
      if (state.step % 10 === 0) store.markRunning(state.step, state.final);
    }
  }
}
