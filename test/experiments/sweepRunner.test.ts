import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import { ConfigError } from '../../src/experiments/config.ts';
import { acquireRunLock, LOCK_FILE, lockState, type LockInfo } from '../../src/experiments/lock.ts';
import { readMetrics } from '../../src/experiments/metrics.ts';
import { readSweepManifest, RunStore, writeSweepManifest, type SweepManifest } from '../../src/experiments/runStore.ts';
import { expandSweep, shard } from '../../src/experiments/sweep.ts';
import {
  ATTEMPTS_FILE,
  runSweep,
  shardFromEnv,
  sweepExitCode,
  sweepManifest,
  type RunOne,
  type SweepResult,
} from '../../src/experiments/sweepRunner.ts';
import { formatSweepStatus, sweepStatus } from '../../src/experiments/sweepStatus.ts';

const root = mkdtempSync(join(tmpdir(), 'edgewise-sweeprunner-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => join(root, `out${counter++}`);
const REPO = new URL('../../', import.meta.url);
const repoPath = (p: string): string => new URL(p, REPO).pathname;

const SWEEP = {
  name: 'unit',
  base: { train: { steps: 5 } },
  grid: { 'optimizer.lr': [0.01, 0.02, 0.04], 'train.seed': [0, 1] },
};
const RUNS = expandSweep(SWEEP);

// ---------------------------------------------------------------- a fake trainer (in-process)

interface FakeOptions {
  readonly steps?: number;
  readonly stepMs?: number;
  /** Run name → outcome of each successive attempt ('ok' | 'fail' | 'throw'); default ok. */
  readonly script?: Readonly<Record<string, ReadonlyArray<'ok' | 'fail' | 'throw'>>>;
}

/** A runOne that writes a run directory like the trainer does, recording every call. */
function fakeTrainer(o: FakeOptions = {}): {
  runOne: RunOne;
  calls: { name: string; previous: string; attempt: number }[];
  maxActive: () => number;
} {
  const steps = o.steps ?? 4;
  const calls: { name: string; previous: string; attempt: number }[] = [];
  const seen = new Map<string, number>();
  let active = 0;
  let maxActive = 0;
  const runOne: RunOne = async (run, runDir, signal, attempt) => {
    calls.push({ name: run.name, previous: attempt.previous, attempt: attempt.attempt });
    const k = seen.get(run.name) ?? 0;
    seen.set(run.name, k + 1);
    const plan = o.script?.[run.name]?.[k] ?? 'ok';
    active++;
    maxActive = Math.max(maxActive, active);
    try {
      const store = new RunStore(runDir).init();
      let from = 0;
      if (attempt.previous === 'running') {
        const rows = store.readMetrics().rows;
        from = rows.length === 0 ? 0 : rows[rows.length - 1].step + 1;
      } else {
        if (attempt.previous === 'failed') rmSync(store.metricsPath, { force: true }); // retry from scratch
        store.writeConfig(run.config);
      }
      store.markRunning(from);
      for (let step = from; step < steps; step++) {
        await sleep(o.stepMs ?? 2);
        if (signal.aborted) return store.close();
        store.appendMetrics({ step, train_loss: 1 / (step + 1) });
        store.markRunning(step + 1);
        if (plan === 'throw' && step === 1) throw new Error(`boom in ${run.name}`);
        if (plan === 'fail' && step === 1) {
          store.finish('failed', 'simulated failure', step + 1, {});
          return;
        }
      }
      store.finish('completed', null, steps, { train_loss: 1 / steps });
    } finally {
      active--;
    }
  };
  return { runOne, calls, maxActive: () => maxActive };
}

function metricSteps(runDir: string): number[] {
  const m = readMetrics(join(runDir, 'metrics.jsonl'));
  assert.equal(m.droppedPartialLine, false, `${runDir}: partial metrics line`);
  return m.rows.map((r) => r.step);
}

// ---------------------------------------------------------------- shardFromEnv

test('shardFromEnv: Kubernetes Indexed Job (JOB_COMPLETION_INDEX + EDGEWISE_SHARD_COUNT or a given count)', () => {
  assert.deepEqual(
    (({ index, count, source }) => ({ index, count, source }))(
      shardFromEnv({ JOB_COMPLETION_INDEX: '2', EDGEWISE_SHARD_COUNT: '4' }),
    ),
    { index: 2, count: 4, source: 'kubernetes' },
  );
  assert.equal(
    shardFromEnv({ JOB_COMPLETION_INDEX: '4', EDGEWISE_SHARD_COUNT: '4' }, 5).count,
    5,
    'a given count wins',
  );
  assert.match(
    shardFromEnv({ JOB_COMPLETION_INDEX: '0', EDGEWISE_SHARD_COUNT: '1' }).description,
    /JOB_COMPLETION_INDEX=0/,
  );
  assert.throws(
    () => shardFromEnv({ JOB_COMPLETION_INDEX: '1' }),
    (e: Error) => e instanceof ConfigError && /EDGEWISE_SHARD_COUNT/.test(e.message),
  );
  assert.throws(
    () => shardFromEnv({ JOB_COMPLETION_INDEX: '4', EDGEWISE_SHARD_COUNT: '4' }),
    /only 4 shards \(0\.\.3\)/,
  );
  assert.throws(
    () => shardFromEnv({ JOB_COMPLETION_INDEX: '1x', EDGEWISE_SHARD_COUNT: '4' }),
    /JOB_COMPLETION_INDEX="1x" is not a non-negative integer/,
  );
  assert.throws(() => shardFromEnv({ JOB_COMPLETION_INDEX: '0', EDGEWISE_SHARD_COUNT: '0' }), /must be >= 1/);
  assert.throws(() => shardFromEnv({ JOB_COMPLETION_INDEX: '0' }, 0), /must be an integer >= 1/);
  // Kubernetes wins when both are set.
  assert.equal(
    shardFromEnv({
      JOB_COMPLETION_INDEX: '1',
      EDGEWISE_SHARD_COUNT: '3',
      SLURM_ARRAY_TASK_ID: '2',
      SLURM_ARRAY_TASK_COUNT: '3',
    }).source,
    'kubernetes',
  );
  assert.throws(() => shardFromEnv({}), /neither JOB_COMPLETION_INDEX .* nor SLURM_ARRAY_TASK_ID/);
});

test('shardFromEnv: Slurm arrays map every task of a range onto shards 0..N-1 exactly once', () => {
  // Oracle: the tasks of `--array=MIN-MAX:STEP` enumerated directly must give each shard once.
  for (const [min, max, step] of [
    [0, 7, 1],
    [10, 19, 1],
    [1, 13, 3],
  ] as const) {
    const ids: number[] = [];
    for (let id = min; id <= max; id += step) ids.push(id);
    const got = ids.map((id) =>
      shardFromEnv({
        SLURM_ARRAY_TASK_ID: String(id),
        SLURM_ARRAY_TASK_MIN: String(min),
        SLURM_ARRAY_TASK_STEP: String(step),
        SLURM_ARRAY_TASK_COUNT: String(ids.length),
      }),
    );
    assert.deepEqual(
      got.map((s) => s.index),
      [...ids.keys()],
      `--array=${min}-${max}:${step}`,
    );
    for (const s of got) assert.equal(s.count, ids.length);
    for (const s of got) assert.equal(s.source, 'slurm');
  }
  // With an explicit count the task id is the shard index (resubmitting shards 3 and 5 of 8).
  const sub = shardFromEnv({
    SLURM_ARRAY_TASK_ID: '5',
    SLURM_ARRAY_TASK_MIN: '3',
    SLURM_ARRAY_TASK_COUNT: '2',
    EDGEWISE_SHARD_COUNT: '8',
  });
  assert.deepEqual([sub.index, sub.count], [5, 8]);
  assert.throws(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '8', EDGEWISE_SHARD_COUNT: '8' }), /only 8 shards/);
  assert.throws(
    () =>
      shardFromEnv({
        SLURM_ARRAY_TASK_ID: '4',
        SLURM_ARRAY_TASK_MIN: '1',
        SLURM_ARRAY_TASK_STEP: '2',
        SLURM_ARRAY_TASK_COUNT: '4',
      }),
    /not on the range/,
  );
  assert.throws(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '3' }), /SLURM_ARRAY_TASK_COUNT is not/);
});

// ---------------------------------------------------------------- runSweep in one process

test('runSweep: writes sweep.json, runs each run once, and a second pass redoes nothing', async () => {
  const out = freshDir();
  mkdirSync(root, { recursive: true });
  const file = join(root, `sweep${counter++}.yaml`);
  writeFileSync(file, YAML.stringify(SWEEP));
  const fake = fakeTrainer();
  const r1 = await runSweep({ sweepFile: file, outDir: out, parallel: 2, runOne: fake.runOne });
  assert.equal(r1.total, 6);
  assert.equal(r1.shardRuns, 6);
  assert.equal(r1.started, 6);
  assert.equal(r1.completed, 6);
  assert.equal(r1.unfinished, 0);
  assert.equal(sweepExitCode(r1), 0);
  assert.deepEqual(fake.calls.map((c) => c.name).sort(), RUNS.map((r) => r.name).sort());
  const manifest = readSweepManifest(out);
  assert.deepEqual(manifest, {
    name: 'unit',
    grid: SWEEP.grid,
    runs: RUNS.map((r) => ({ index: r.index, name: r.name, params: r.params })),
  });
  for (const r of RUNS) {
    assert.deepEqual(metricSteps(join(out, r.name)), [0, 1, 2, 3]);
    assert.equal(existsSync(join(out, r.name, LOCK_FILE)), false, 'locks released');
  }
  const before = readFileSync(join(out, 'sweep.json'), 'utf8');
  const r2 = await runSweep({ runs: RUNS, name: 'unit', grid: SWEEP.grid, outDir: out, runOne: fake.runOne });
  assert.equal(r2.started, 0, 'finished runs are never redone');
  assert.equal(r2.completed, 6);
  assert.equal(readFileSync(join(out, 'sweep.json'), 'utf8'), before, 'the same manifest from every worker');
});

test('runSweep: shards partition the sweep; parallel bounds the runs at once', async () => {
  const out = freshDir();
  const fakes = [fakeTrainer({ stepMs: 5 }), fakeTrainer({ stepMs: 5 }), fakeTrainer({ stepMs: 5 })];
  const results = await Promise.all(
    fakes.map((f, i) =>
      runSweep({ runs: RUNS, outDir: out, shard: { index: i, count: 3 }, parallel: 2, runOne: f.runOne }),
    ),
  );
  results.forEach((r, i) => {
    assert.deepEqual(
      fakes[i].calls.map((c) => c.name),
      shard(RUNS, i, 3).map((x) => x.name),
    );
    assert.equal(r.shardRuns, 2);
    assert.equal(r.completed, 2);
  });
  const solo = fakeTrainer({ stepMs: 5 });
  await runSweep({ runs: RUNS, outDir: freshDir(), parallel: 3, runOne: solo.runOne });
  assert.equal(solo.maxActive(), 3);
  const one = fakeTrainer({ stepMs: 2 });
  await runSweep({ runs: RUNS, outDir: freshDir(), parallel: 1, runOne: one.runOne });
  assert.equal(one.maxActive(), 1);
  assert.deepEqual(
    one.calls.map((c) => c.name),
    RUNS.map((r) => r.name),
    'in sweep order',
  );
});

test('runSweep: a failed run is retried once (counted in .attempts.jsonl), then final', async () => {
  const out = freshDir();
  const [flaky, broken] = [RUNS[1].name, RUNS[2].name];
  const fake = fakeTrainer({ script: { [flaky]: ['fail', 'ok'], [broken]: ['fail', 'fail', 'ok'] } });
  const r = await runSweep({ runs: RUNS, outDir: out, parallel: 2, runOne: fake.runOne });
  const callsOf = (n: string): { previous: string; attempt: number }[] =>
    fake.calls.filter((c) => c.name === n).map(({ previous, attempt }) => ({ previous, attempt }));
  assert.deepEqual(callsOf(flaky), [
    { previous: 'new', attempt: 1 },
    { previous: 'failed', attempt: 2 },
  ]);
  assert.deepEqual(callsOf(broken), [
    { previous: 'new', attempt: 1 },
    { previous: 'failed', attempt: 2 },
  ]);
  assert.equal(new RunStore(join(out, flaky)).status(), 'completed');
  assert.equal(new RunStore(join(out, broken)).status(), 'failed');
  assert.equal(r.completed, 5);
  assert.equal(r.failed, 1);
  assert.equal(sweepExitCode(r), 1, 'a failed run makes the worker exit non-zero');
  const lines = readFileSync(join(out, broken, ATTEMPTS_FILE), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; previous?: string; status?: string });
  assert.deepEqual(
    lines.map((l) => [l.event, l.previous ?? l.status]),
    [
      ['start', 'new'],
      ['end', 'failed'],
      ['start', 'failed'],
      ['end', 'failed'],
    ],
  );
  // Later invocations leave it alone (its retry is used up) ...
  const again = fakeTrainer();
  await runSweep({ runs: RUNS, outDir: out, runOne: again.runOne });
  assert.equal(again.calls.length, 0);
  // ... unless allowed more retries; retryFailed: 0 never retries.
  const more = fakeTrainer();
  const r3 = await runSweep({ runs: RUNS, outDir: out, runOne: more.runOne, retryFailed: 2 });
  assert.deepEqual(
    more.calls.map((c) => c.name),
    [broken],
  );
  assert.equal(r3.completed, 6);
  const none = fakeTrainer({ script: { [RUNS[0].name]: ['fail'] } });
  const r4 = await runSweep({ runs: RUNS, outDir: freshDir(), runOne: none.runOne, retryFailed: 0, parallel: 2 });
  assert.equal(none.calls.length, 6);
  assert.equal(r4.failed, 1);
});

test('runSweep: a run that throws is reported and the others go on; the next invocation resumes it', async () => {
  const out = freshDir();
  const bad = RUNS[3].name;
  const logs: string[] = [];
  const fake = fakeTrainer({ script: { [bad]: ['throw'] } });
  const r = await runSweep({ runs: RUNS, outDir: out, parallel: 2, runOne: fake.runOne, log: (l) => logs.push(l) });
  assert.equal(r.errors, 1);
  assert.equal(r.completed, 5);
  assert.equal(r.unfinished, 1);
  assert.equal(r.rows.find((x) => x.name === bad)?.error, `boom in ${bad}`);
  assert.ok(logs.some((l) => l.includes(`${bad}: error: boom`)));
  assert.equal(existsSync(join(out, bad, LOCK_FILE)), false);
  const next = fakeTrainer();
  await runSweep({ runs: RUNS, outDir: out, runOne: next.runOne });
  assert.deepEqual(next.calls, [{ name: bad, previous: 'running', attempt: 2 }]);
  assert.deepEqual(metricSteps(join(out, bad)), [0, 1, 2, 3]);
});

test('runSweep: aborting stops the runs in progress and releases their locks; a rerun resumes them', async () => {
  const out = freshDir();
  const ac = new AbortController();
  const fake = fakeTrainer({ steps: 20, stepMs: 10 });
  const pending = runSweep({ runs: RUNS, outDir: out, parallel: 2, runOne: fake.runOne, signal: ac.signal });
  await sleep(60);
  ac.abort();
  const r = await pending;
  assert.equal(r.aborted, true);
  assert.equal(r.started, 2, 'no new runs after the abort');
  assert.equal(sweepExitCode(r), 1);
  for (const run of RUNS) assert.equal(existsSync(join(out, run.name, LOCK_FILE)), false);
  const st = sweepStatus(out);
  assert.equal(st.missing, 6);
  assert.equal(st.interrupted, 2);
  const rest = fakeTrainer({ steps: 20, stepMs: 0 });
  const r2 = await runSweep({ runs: RUNS, outDir: out, parallel: 2, runOne: rest.runOne });
  assert.equal(r2.completed, 6);
  assert.deepEqual(
    rest.calls.filter((c) => c.previous === 'running').map((c) => c.name),
    fake.calls.map((c) => c.name),
  );
  for (const run of RUNS) assert.deepEqual(metricSteps(join(out, run.name)), [...Array(20).keys()]);
});

test('runSweep: a run held by a live worker is waited for (or left, with waitForOthers: false)', async () => {
  const out = freshDir();
  const held = acquireRunLock(join(out, RUNS[0].name), { heartbeatMs: 0 });
  assert.ok(held);
  const fake = fakeTrainer();
  const r = await runSweep({ runs: RUNS, outDir: out, runOne: fake.runOne, waitForOthers: false, parallel: 2 });
  assert.equal(r.unfinished, 1);
  assert.equal(r.completed, 5);
  assert.equal(
    fake.calls.some((c) => c.name === RUNS[0].name),
    false,
  );
  // The other worker finishes it while this one waits: not redone.
  const waiting = runSweep({ runs: RUNS, outDir: out, runOne: fake.runOne, pollMs: 20 });
  await sleep(80);
  const store = new RunStore(join(out, RUNS[0].name)).init();
  store.finish('completed', null, 4, {});
  held.release();
  const r2 = await waiting;
  assert.equal(r2.started, 0);
  assert.equal(r2.completed, 6);
});

test('runSweep: a run whose worker died is taken over, its temporary files removed, and resumed', async () => {
  const out = freshDir();
  const dir = join(out, RUNS[2].name);
  const store = new RunStore(dir).init();
  store.writeConfig(RUNS[2].config);
  store.appendMetrics({ step: 0, train_loss: 1 });
  store.appendMetrics({ step: 1, train_loss: 0.5 });
  store.markRunning(2);
  store.close();
  writeFileSync(join(dir, '.tmp-summary.json.999.deadbeef'), '{"status":');
  writeFileSync(join(dir, 'checkpoints', '.tmp-step-000002.safetensors.999.deadbeef'), 'partial');
  const mine = acquireRunLock(freshDir(), { heartbeatMs: 0 });
  assert.ok(mine);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
  const deadLock = JSON.stringify({
    ...(JSON.parse(readFileSync(mine.path, 'utf8')) as LockInfo),
    owner: 'gone',
    pid: dead,
  });
  writeFileSync(join(dir, LOCK_FILE), deadLock);
  mine.release();
  const fake = fakeTrainer();
  const logs: string[] = [];
  const r = await runSweep({ runs: RUNS, outDir: out, parallel: 1, runOne: fake.runOne, log: (l) => logs.push(l) });
  assert.equal(r.completed, 6);
  assert.deepEqual(
    fake.calls.find((c) => c.name === RUNS[2].name),
    { name: RUNS[2].name, previous: 'running', attempt: 1 },
  );
  assert.ok(logs.some((l) => /took over: its process \d+ on .* is dead/.test(l)));
  assert.ok(logs.some((l) => l.includes('removed 2 temporary file(s)')));
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('.tmp-') || f === LOCK_FILE),
    [],
  );
  assert.deepEqual(readdirSync(join(dir, 'checkpoints')), []);
  assert.deepEqual(metricSteps(dir), [0, 1, 2, 3]);
  const attempts = readFileSync(join(dir, ATTEMPTS_FILE), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { took_over?: string | null });
  assert.match(attempts[0].took_over ?? '', /dead/);
  // A stale lock left on a finished run (killed after finishing, before releasing) is tidied up.
  writeFileSync(join(dir, LOCK_FILE), deadLock);
  const again = fakeTrainer();
  await runSweep({ runs: RUNS, outDir: out, runOne: again.runOne });
  assert.equal(again.calls.length, 0);
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
});

test('sweep.json: a different sweep may replace it unless a run name would change meaning', () => {
  const out = freshDir();
  writeSweepManifest(out, sweepManifest(RUNS, 'unit'));
  const grown = expandSweep({ ...SWEEP, grid: { ...SWEEP.grid, 'optimizer.lr': [0.01, 0.02, 0.04, 0.08] } });
  const logs: string[] = [];
  writeSweepManifest(out, sweepManifest(grown, 'unit'), (l) => logs.push(l));
  assert.equal(readSweepManifest(out).runs.length, 8);
  assert.match(logs[0], /replacing a different sweep manifest \(6 runs\)/);
  const clash: SweepManifest = {
    name: 'x',
    grid: {},
    runs: [{ index: 0, name: RUNS[0].name, params: { 'optimizer.lr': 99 } }],
  };
  assert.throws(() => writeSweepManifest(out, clash), /another sweep uses this directory/);
});

// ---------------------------------------------------------------- sweepStatus

test('sweepStatus: counts completed, diverged, failed, running, stale and missing runs', () => {
  const out = freshDir();
  const runs = expandSweep({ name: 'status', grid: { 'optimizer.lr': [1, 2, 3, 4, 5, 6, 7] } });
  writeSweepManifest(out, sweepManifest(runs, 'status'));
  const store = (i: number): RunStore => new RunStore(join(out, runs[i].name)).init();
  store(0).finish('completed', null, 10, { train_loss: 0.1 });
  store(1).finish('diverged', 'loss is NaN', 3, {});
  store(2).finish('failed', 'boom', 1, {});
  store(3).markRunning(4);
  const live = acquireRunLock(store(3).dir, { heartbeatMs: 0 });
  assert.ok(live);
  store(4).markRunning(7);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
  const info = JSON.parse(readFileSync(live.path, 'utf8')) as LockInfo;
  writeFileSync(join(store(4).dir, LOCK_FILE), JSON.stringify({ ...info, owner: 'gone', pid: dead }));
  store(5).markRunning(2); // interrupted: started, no lock
  // runs[6]: never started, no directory
  rmSync(join(out, runs[6].name), { recursive: true, force: true });

  const st = sweepStatus(out);
  assert.deepEqual(
    {
      total: st.total,
      completed: st.completed,
      diverged: st.diverged,
      failed: st.failed,
      running: st.running,
      stale: st.stale,
      missing: st.missing,
      interrupted: st.interrupted,
    },
    { total: 7, completed: 1, diverged: 1, failed: 1, running: 1, stale: 1, missing: 2, interrupted: 1 },
  );
  assert.equal(st.name, 'status');
  assert.deepEqual(
    st.rows.map((r) => r.state),
    ['completed', 'diverged', 'failed', 'running', 'stale', 'missing', 'missing'],
  );
  assert.equal(st.rows[3].lock?.owner, live.owner);
  assert.equal(st.rows[3].steps, 4);
  assert.match(st.rows[4].note ?? '', /dead/);
  assert.deepEqual([st.rows[5].started, st.rows[6].started], [true, false]);
  // A short staleness bound makes a silent holder stale.
  assert.equal(sweepStatus(out, runs, { staleAfterMs: 1, now: Date.now() + 5000 }).stale, 2);
  const text = formatSweepStatus(st);
  assert.match(text, /^sweep "status" in .*: 7 runs$/m);
  assert.match(text, /done\s+3\/7\s+\(completed 1, diverged 1, failed 1\)/);
  assert.match(text, /running\s+1/);
  assert.match(text, /stale\s+1/);
  assert.match(text, /missing\s+2\s+\(1 interrupted/);
  assert.match(text, new RegExp(`running\\s+3\\s+${runs[3].name}\\s+step 4`));
  assert.equal(formatSweepStatus(st, { details: false }).trim().split('\n').length, 5);
  live.release();
  assert.throws(() => sweepStatus(freshDir()), /sweep\.json: not found/);
});

// ---------------------------------------------------------------- a cluster on one machine

interface WorkerRun {
  readonly child: ChildProcess;
  readonly done: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    result: SweepResult | null;
    stderr: string;
  }>;
}

const live: ChildProcess[] = [];
after(() => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function startWorker(cfg: {
  outDir: string;
  shard: [number, number] | null;
  parallel?: number;
  steps?: number;
  stepMs?: number;
  staleAfterMs?: number;
}): WorkerRun {
  const full = { parallel: 2, steps: 8, stepMs: 15, staleAfterMs: 60_000, pollMs: 50, ...cfg };
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', repoPath('test/experiments/fixtures/sweepWorker.ts'), JSON.stringify(full)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    result: SweepResult | null;
    stderr: string;
  }>((resolve) => {
    child.on('close', (code, signal) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      let result: SweepResult | null;
      try {
        result = JSON.parse(last) as SweepResult;
      } catch {
        result = null;
      }
      resolve({ code, signal, result, stderr });
    });
  });
  return { child, done };
}

interface FakeLogLine {
  readonly event: string;
  readonly pid: number;
  readonly previous?: string;
  readonly from?: number;
  readonly tookOver?: string | null;
}

function fakeLog(runDir: string): FakeLogLine[] {
  const p = join(runDir, 'fake.log');
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as FakeLogLine);
}

/** Every run of the sweep in `out` completed, with metrics 0..steps-1 exactly once, no locks or temp files left. */
function assertSweepComplete(out: string, steps: number): SweepManifest {
  const manifest = readSweepManifest(out);
  assert.equal(manifest.runs.length, 9);
  assert.deepEqual(manifest.grid, { 'optimizer.lr': [0.01, 0.02, 0.04], 'train.seed': [0, 1, 2] });
  for (const r of manifest.runs) {
    const dir = join(out, r.name);
    const summary = new RunStore(dir).readSummary();
    assert.equal(summary?.status, 'completed', `${r.name}: ${JSON.stringify(summary)}`);
    assert.equal(summary?.steps, steps);
    assert.deepEqual(metricSteps(dir), [...Array(steps).keys()], `${r.name}: every step once, in order`);
    const ends = fakeLog(dir).filter((l) => l.event === 'end');
    assert.equal(ends.length, 1, `${r.name}: finished exactly once`);
    const files = readdirSync(dir).sort();
    assert.deepEqual(
      files.filter((f) => f === LOCK_FILE || f.startsWith('.tmp-') || f.includes('takeover')),
      [],
      `${r.name}: leftovers ${files}`,
    );
    assert.deepEqual(
      files.filter((f) => !f.startsWith('.')),
      ['checkpoints', 'config.json', 'fake.log', 'metrics.jsonl', 'summary.json'],
    );
  }
  const st = sweepStatus(out);
  assert.equal(st.completed, 9);
  assert.equal(st.missing + st.running + st.stale + st.failed + st.diverged, 0);
  return manifest;
}

test('cluster: 3 workers with different shards over one directory run every run exactly once', async () => {
  const out = freshDir();
  const workers = [0, 1, 2].map((i) => startWorker({ outDir: out, shard: [i, 3] }));
  const results = await Promise.all(workers.map((w) => w.done));
  results.forEach((r, i) => {
    assert.equal(r.code, 0, `worker ${i}: ${r.stderr}`);
    assert.equal(r.result?.shardRuns, 3);
    assert.equal(r.result?.started, 3);
    assert.equal(r.result?.completed, 3);
  });
  const manifest = assertSweepComplete(out, 8);
  for (const r of manifest.runs) {
    const starts = fakeLog(join(out, r.name)).filter((l) => l.event === 'start');
    assert.equal(starts.length, 1, `${r.name} started once`);
    // Run i was run by the worker of shard i mod 3.
    assert.equal(starts[0].pid, workers[r.index % 3].child.pid);
  }
});

test('cluster: a worker killed mid-run and restarted completes its shard; the killed runs are taken over, nothing lost or duplicated', async () => {
  const out = freshDir();
  const steps = 10;
  // staleAfterMs is long: the takeover must come from the dead pid, not from an old heartbeat.
  const cfg = { steps, stepMs: 40, staleAfterMs: 120_000 };
  const workers = [0, 1, 2].map((i) => startWorker({ outDir: out, shard: [i, 3], ...cfg }));
  const victim = workers[1];
  const shard1 = [1, 4, 7];
  // Wait until one of shard 1's runs is part-way through, then kill its worker without warning.
  let names: string[] = [];
  const deadline = Date.now() + 20_000;
  for (;;) {
    assert.ok(Date.now() < deadline, 'shard 1 never got going');
    if (names.length === 0 && existsSync(join(out, 'sweep.json')))
      names = readSweepManifest(out).runs.map((r) => r.name);
    const midway =
      names.length > 0 &&
      shard1.some((i) => {
        const rows = readMetrics(join(out, names[i], 'metrics.jsonl')).rows.length;
        return rows >= 2 && rows <= steps - 3;
      });
    if (midway) break;
    await sleep(5);
  }
  victim.child.kill('SIGKILL');
  const killed = await victim.done;
  assert.equal(killed.signal, 'SIGKILL');
  const rowsAtKill = new Map(shard1.map((i) => [i, readMetrics(join(out, names[i], 'metrics.jsonl')).rows.length]));
  const unfinished = shard1.filter((i) => new RunStore(join(out, names[i])).status() !== 'completed');
  assert.ok(unfinished.length >= 1);
  const [w0, w2] = await Promise.all([workers[0].done, workers[2].done]);
  assert.equal(w0.code, 0, w0.stderr);
  assert.equal(w2.code, 0, w2.stderr);
  // The dead worker's locks are left behind and judged stale at once (its pid is gone).
  const orphaned = unfinished.filter((i) => existsSync(join(out, names[i], LOCK_FILE)));
  assert.ok(orphaned.length >= 1, 'the killed worker left a lock');
  for (const i of orphaned) {
    const st = lockState(join(out, names[i]), { staleAfterMs: cfg.staleAfterMs });
    assert.equal(st.state, 'stale');
    assert.ok(st.state === 'stale' && /dead/.test(st.reason));
  }
  const mid = sweepStatus(out, undefined, { staleAfterMs: cfg.staleAfterMs });
  assert.equal(mid.stale, orphaned.length);
  assert.equal(mid.completed, 9 - unfinished.length);

  const restarted = startWorker({ outDir: out, shard: [1, 3], ...cfg });
  const r = await restarted.done;
  assert.equal(r.code, 0, r.stderr);
  assertSweepComplete(out, steps);
  assert.ok(
    orphaned.some((i) => (rowsAtKill.get(i) ?? 0) >= 2),
    'the run seen part-way through was orphaned',
  );
  for (const i of orphaned) {
    const dir = join(out, names[i]);
    const starts = fakeLog(dir).filter((l) => l.event === 'start');
    const before = starts.filter((l) => l.pid === victim.child.pid);
    const afterKill = starts.filter((l) => l.pid === restarted.child.pid);
    assert.ok(before.length <= 1, `${names[i]}: started at most once before the kill`);
    assert.equal(afterKill.length, 1, `${names[i]}: taken over once`);
    assert.equal(starts.length, before.length + afterKill.length);
    const resumed = afterKill[0];
    assert.match(resumed.tookOver ?? '', /dead/);
    // Resumed right after the last complete row the victim wrote: nothing lost, nothing twice.
    const from = rowsAtKill.get(i) ?? 0;
    assert.equal(resumed.from, from, `${names[i]}: resumed at step ${from}`);
    if (from > 0) assert.equal(resumed.previous, 'running');
    const workersOfRows = readMetrics(join(dir, 'metrics.jsonl')).rows.map((row) => row.worker);
    assert.deepEqual(
      workersOfRows,
      [...Array(steps).keys()].map((s) => (s < from ? victim.child.pid : restarted.child.pid)),
    );
  }
});

test('cluster: two workers given the same shard never run a run twice or corrupt one', async () => {
  const out = freshDir();
  const workers = [0, 1].map(() => startWorker({ outDir: out, shard: [0, 1], parallel: 2, steps: 6, stepMs: 15 }));
  const results = await Promise.all(workers.map((w) => w.done));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  assert.equal(
    (results[0].result?.started ?? 0) + (results[1].result?.started ?? 0),
    9,
    'the two workers split the runs',
  );
  const manifest = assertSweepComplete(out, 6);
  for (const r of manifest.runs) {
    const log = fakeLog(join(out, r.name));
    assert.equal(log.filter((l) => l.event === 'start').length, 1, `${r.name} started once`);
    const rows = readMetrics(join(out, r.name, 'metrics.jsonl')).rows;
    assert.equal(new Set(rows.map((x) => x.worker)).size, 1, `${r.name}: written by one worker`);
    for (let k = 1; k < rows.length; k++) assert.ok(rows[k].step > rows[k - 1].step);
  }
});

// ---------------------------------------------------------------- deploy/

test('deploy: the Kubernetes Indexed Job has what a Job needs and runs one shard per index', () => {
  const text = readFileSync(repoPath('deploy/k8s-indexed-job.yaml'), 'utf8');
  const docs = YAML.parseAllDocuments(text);
  for (const d of docs) assert.deepEqual(d.errors, []);
  const job = docs.map((d) => d.toJS() as Record<string, any>).find((d) => d?.kind === 'Job');
  assert.ok(job, 'a Job document');
  assert.equal(job.apiVersion, 'batch/v1');
  assert.equal(typeof job.metadata?.name, 'string');
  assert.match(job.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  const spec = job.spec;
  assert.equal(spec.completionMode, 'Indexed');
  assert.ok(Number.isInteger(spec.completions) && spec.completions >= 1);
  assert.equal(spec.parallelism, spec.completions);
  const pod = spec.template.spec;
  assert.ok(['Never', 'OnFailure'].includes(pod.restartPolicy));
  if (spec.backoffLimitPerIndex !== undefined)
    assert.equal(pod.restartPolicy, 'Never', 'backoffLimitPerIndex needs restartPolicy Never');
  const c = pod.containers[0];
  assert.equal(typeof c.image, 'string');
  const argv: string[] = [...(c.command ?? []), ...(c.args ?? [])];
  assert.equal(argv[0], 'edgewise');
  assert.equal(argv[1], 'sweep');
  assert.ok(argv.includes('--shard-from-env'));
  const out = argv[argv.indexOf('--out') + 1];
  const sweepFile = argv[2];
  // The shard count given to the pods is the Job's completions.
  const env = Object.fromEntries((c.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
  assert.equal(Number(env.EDGEWISE_SHARD_COUNT), spec.completions);
  // Every shard index maps to a shard of that count (as the pods will see it).
  for (let i = 0; i < spec.completions; i++)
    assert.equal(shardFromEnv({ ...env, JOB_COMPLETION_INDEX: String(i) }).index, i);
  // Output and sweep file live on mounted volumes; the output volume is a shared PVC.
  const mountOf = (p: string): { name: string; mountPath: string } | undefined =>
    (c.volumeMounts as { name: string; mountPath: string }[]).find(
      (m) => p === m.mountPath || p.startsWith(`${m.mountPath}/`),
    );
  const outMount = mountOf(out);
  assert.ok(outMount, `--out ${out} is on a mounted volume`);
  assert.equal(outMount.mountPath, '/runs');
  const vol = (pod.volumes as { name: string; persistentVolumeClaim?: { claimName: string } }[]).find(
    (v) => v.name === outMount.name,
  );
  assert.ok(vol?.persistentVolumeClaim?.claimName);
  assert.ok(mountOf(sweepFile), `the sweep file ${sweepFile} is on a mounted volume`);
  for (const m of c.volumeMounts as { name: string }[])
    assert.ok(
      (pod.volumes as { name: string }[]).some((v) => v.name === m.name),
      `volume ${m.name} defined`,
    );

  const pvc = YAML.parse(readFileSync(repoPath('deploy/k8s-pvc.yaml'), 'utf8')) as Record<string, any>;
  assert.equal(pvc.kind, 'PersistentVolumeClaim');
  assert.equal(pvc.metadata.name, vol.persistentVolumeClaim.claimName);
  assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany']);
});

test('deploy: the sbatch script passes bash -n and runs the sweep over a job array', () => {
  const file = repoPath('deploy/slurm-sweep.sbatch');
  const check = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^#!\/bin\/bash/);
  const array = /^#SBATCH\s+--array=0-(\d+)\b/m.exec(text);
  assert.ok(array, '#SBATCH --array=0-(N-1)');
  const count = /EDGEWISE_SHARD_COUNT:-(\d+)/.exec(text);
  assert.ok(count, 'a default EDGEWISE_SHARD_COUNT');
  assert.equal(Number(array[1]) + 1, Number(count[1]), 'the array and the shard count agree');
  assert.match(text, /^\s*srun\b.*\bsweep\b.*--shard-from-env/m);
  // #SBATCH lines come before the first command (sbatch stops reading them there).
  const lines = text.split('\n');
  const firstCmd = lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#'));
  assert.ok(lines.slice(firstCmd).every((l) => !l.startsWith('#SBATCH')));
});

test('deploy: the Dockerfile builds the CLI image and the README covers both flows and the report', () => {
  const df = readFileSync(repoPath('deploy/Dockerfile'), 'utf8');
  const instr = df
    .split('\n')
    .filter((l) => /^[A-Z]+\s/.test(l))
    .map((l) => l.split(/\s/)[0]);
  assert.equal(instr[0], 'FROM');
  assert.match(df, /^FROM node:20-bookworm-slim\b/m);
  assert.match(df, /apt-get install[^\n]*dataset-fashion-mnist/);
  assert.match(df, /npm ci/);
  assert.match(df, /^ENTRYPOINT \["edgewise"\]/m);
  const readme = readFileSync(repoPath('deploy/README.md'), 'utf8');
  for (const s of ['docker build', 'kubectl apply', 'sbatch', '--status', 'edgewise report', '--shard-from-env'])
    assert.ok(readme.includes(s), `README mentions ${s}`);
});
