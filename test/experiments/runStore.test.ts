import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/experiments/config.ts';
import { TEMP_PREFIX, writeFileAtomic } from '../../src/experiments/atomicWrite.ts';
import { MetricsWriter, readMetrics, serializeRow } from '../../src/experiments/metrics.ts';
import {
  RunStore,
  checkpointFileName,
  collectVersions,
  curvatureSnapshotName,
  curvatureSnapshotPath,
  hasSweepManifest,
  listCurvatureSnapshots,
  parseCheckpointFileName,
  parseCurvatureSnapshotName,
  readSweepManifest,
  sweepManifestPath,
  writeCurvatureSnapshot,
  writeSweepManifest,
  type SweepManifest,
} from '../../src/experiments/runStore.ts';

const root = mkdtempSync(join(tmpdir(), 'edgewise-runstore-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => join(root, `run${counter++}`);

/** Every file under `dir`, recursively (relative paths). */
function listAll(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

test('config.json: resolved config + seed + versions, atomic, no temp files left', () => {
  const store = new RunStore(freshDir()).init();
  const config = resolveConfig({ train: { seed: 42 }, optimizer: { lr: 0.1 } });
  store.writeConfig(config, undefined, new Date('2025-01-02T03:04:05Z'));
  store.writeConfig(config, undefined, new Date('2025-01-02T03:04:06Z')); // replace
  const raw = JSON.parse(readFileSync(store.configPath, 'utf8')) as Record<string, unknown>;
  assert.equal(raw.seed, 42);
  assert.equal(raw.created_at, '2025-01-02T03:04:06.000Z');
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const ort = JSON.parse(
    readFileSync(new URL('../../node_modules/onnxruntime-node/package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  assert.deepEqual(raw.versions, { edgewise: pkg.version, node: process.version, onnxruntime_node: ort.version });
  assert.deepEqual(collectVersions(), raw.versions);
  for (const k of Object.keys(config)) assert.deepEqual(raw[k], (config as Record<string, unknown>)[k], k);
  const back = store.readConfig();
  assert.deepEqual(back.config, config);
  assert.equal(back.seed, 42);
  assert.deepEqual(listAll(store.dir), ['checkpoints', 'config.json']);
});

test('writeFileAtomic leaves no temp file when it fails, and never a partial target', () => {
  const dir = freshDir();
  mkdirSync(join(dir, 'target-is-a-dir'), { recursive: true });
  assert.throws(() => writeFileAtomic(join(dir, 'target-is-a-dir'), 'x'));
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith(TEMP_PREFIX)),
    [],
  );
  writeFileAtomic(join(dir, 'f.txt'), 'old');
  writeFileAtomic(join(dir, 'f.txt'), [Buffer.from('n'), Buffer.from('ew')]);
  assert.equal(readFileSync(join(dir, 'f.txt'), 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir).sort(), ['f.txt', 'target-is-a-dir']);
});

test('metrics: one line per row; typed arrays as lists; non-finite numbers as null', () => {
  const store = new RunStore(freshDir()).init();
  store.appendMetrics({ step: 0, lr: 0.05, train_loss: 2.3, eigs: Float64Array.from([3, 1]) });
  store.appendMetrics({ step: 1, lr: 0.05, train_loss: Number.NaN, sharpness: Number.POSITIVE_INFINITY });
  store.close();
  const text = readFileSync(store.metricsPath, 'utf8');
  assert.equal(
    text,
    '{"step":0,"lr":0.05,"train_loss":2.3,"eigs":[3,1]}\n{"step":1,"lr":0.05,"train_loss":null,"sharpness":null}\n',
  );
  const r = store.readMetrics();
  assert.deepEqual(r.rows, [
    { step: 0, lr: 0.05, train_loss: 2.3, eigs: [3, 1] },
    { step: 1, lr: 0.05, train_loss: null, sharpness: null },
  ]);
  assert.equal(r.droppedPartialLine, false);
  assert.throws(() => serializeRow({ step: -1 }), /step must be an integer >= 0/);
  assert.throws(() => serializeRow({ step: 1.5 }), /step must be an integer >= 0/);
});

test('metrics reader tolerates a truncated last line; the writer repairs it before appending', () => {
  const store = new RunStore(freshDir()).init();
  for (let s = 0; s < 5; s++) store.appendMetrics({ step: s, train_loss: 1 / (s + 1), note: 'é' });
  store.close();
  const full = readFileSync(store.metricsPath);
  // Cut the file at every byte inside the last line (as a SIGKILL mid-write could).
  const lastStart = full.lastIndexOf(0x0a, full.length - 2) + 1;
  for (let cut = lastStart + 1; cut < full.length - 1; cut++) {
    writeFileSync(store.metricsPath, full.subarray(0, cut));
    const r = readMetrics(store.metricsPath);
    assert.deepEqual(
      r.rows.map((x) => x.step),
      [0, 1, 2, 3],
      `cut at ${cut}`,
    );
    assert.equal(r.droppedPartialLine, true);
    assert.equal(r.validBytes, lastStart);
  }
  // Complete JSON but the newline never written: kept.
  writeFileSync(store.metricsPath, full.subarray(0, full.length - 1));
  assert.deepEqual(
    readMetrics(store.metricsPath).rows.map((x) => x.step),
    [0, 1, 2, 3, 4],
  );
  // Writer: repair then append.
  writeFileSync(store.metricsPath, full.subarray(0, lastStart + 7));
  const w = new MetricsWriter(store.metricsPath);
  w.append({ step: 4, train_loss: 0.2 });
  w.append({ step: 5, train_loss: 0.1 });
  w.close();
  const r = readMetrics(store.metricsPath);
  assert.deepEqual(
    r.rows.map((x) => x.step),
    [0, 1, 2, 3, 4, 5],
  );
  assert.equal(r.droppedPartialLine, false);
  // Missing newline + append: rows stay separate.
  writeFileSync(store.metricsPath, '{"step":0}');
  const w2 = new MetricsWriter(store.metricsPath);
  w2.append({ step: 1 });
  w2.close();
  assert.equal(readFileSync(store.metricsPath, 'utf8'), '{"step":0}\n{"step":1}\n');
  // A corrupt line that is not the last one is an error naming file and line.
  writeFileSync(store.metricsPath, '{"step":0}\n{"step":\n{"step":2}\n');
  assert.throws(
    () => readMetrics(store.metricsPath),
    (e: Error) => e.message.startsWith(`${store.metricsPath}:2:`),
  );
  // Missing file: no rows.
  assert.deepEqual(readMetrics(join(store.dir, 'none.jsonl')).rows, []);
});

test('truncation for resume keeps exactly the rows with step <= N, byte for byte', () => {
  const store = new RunStore(freshDir()).init();
  const steps = [0, 1, 2, 3, 5, 8, 10, 10, 13, 20];
  for (const s of steps) store.appendMetrics({ step: s, train_loss: s * 0.5, eigs: [s, s / 2] });
  const original = readFileSync(store.metricsPath, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  for (const n of [-1, 0, 4, 10, 19, 20, 100]) {
    // Rewrite the full file, then truncate (appendFileSync to add a partial tail as after a crash).
    writeFileSync(store.metricsPath, `${original.join('\n')}\n`);
    appendFileSync(store.metricsPath, '{"step":21,"trai');
    const kept = store.truncateMetrics(n);
    const expected = original.filter((_, i) => steps[i] <= n);
    assert.equal(kept, expected.length, `N=${n}`);
    assert.equal(readFileSync(store.metricsPath, 'utf8'), expected.map((l) => `${l}\n`).join(''), `N=${n}`);
  }
  // Appending after a truncation continues the file.
  store.truncateMetrics(5);
  store.appendMetrics({ step: 6 });
  store.close();
  assert.deepEqual(
    store.readMetrics().rows.map((r) => r.step),
    [0, 1, 2, 3, 5, 6],
  );
  assert.deepEqual(listAll(store.dir), ['checkpoints', 'metrics.jsonl']);
});

test('summary: new → running → completed / diverged / failed, finite-or-null finals', () => {
  const store = new RunStore(freshDir()).init();
  assert.equal(store.status(), 'new');
  assert.equal(store.readSummary(), null);
  const t0 = new Date('2025-01-01T00:00:00Z');
  store.markRunning(0, {}, t0);
  assert.equal(store.status(), 'running');
  const s1 = store.markRunning(50, { train_loss: 0.5 }, new Date('2025-01-01T00:00:10Z'));
  assert.equal(s1.steps, 50);
  assert.equal(s1.elapsed_s, 10);
  assert.equal(s1.finished_at, null);
  const s2 = store.finish(
    'diverged',
    'train loss 1e5 > train.divergence_loss 1000',
    73,
    { train_loss: Number.POSITIVE_INFINITY, sharpness: 45.1 },
    new Date('2025-01-01T00:01:00Z'),
  );
  const onDisk = JSON.parse(readFileSync(store.summaryPath, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(onDisk, s2);
  assert.deepEqual(onDisk, {
    status: 'diverged',
    reason: 'train loss 1e5 > train.divergence_loss 1000',
    steps: 73,
    final: { train_loss: null, train_acc: null, test_loss: null, test_acc: null, sharpness: 45.1 },
    started_at: '2025-01-01T00:00:00.000Z',
    updated_at: '2025-01-01T00:01:00.000Z',
    finished_at: '2025-01-01T00:01:00.000Z',
    elapsed_s: 60,
  });
  assert.equal(store.status(), 'diverged');
  // A new store object on the same directory sees it and keeps the start time.
  const again = new RunStore(store.dir);
  assert.equal(again.status(), 'diverged');
  assert.equal(
    again.finish('completed', null, 100, {}, new Date('2025-01-01T00:02:00Z')).started_at,
    '2025-01-01T00:00:00.000Z',
  );
  writeFileSync(store.summaryPath, '{"status":"weird"}');
  assert.throws(() => store.status(), /summary\.json: status must be one of running, completed, diverged, failed/);
  assert.deepEqual(
    listAll(store.dir).filter((f) => f.includes(TEMP_PREFIX)),
    [],
  );
});

test('checkpoints: step-000000.safetensors naming, list, latest, read back, remove after', () => {
  assert.equal(checkpointFileName(0), 'step-000000.safetensors');
  assert.equal(checkpointFileName(1234), 'step-001234.safetensors');
  assert.equal(checkpointFileName(12345678), 'step-12345678.safetensors');
  assert.equal(parseCheckpointFileName('step-001234.safetensors'), 1234);
  assert.equal(parseCheckpointFileName('step-12.safetensors'), null);
  assert.equal(parseCheckpointFileName('.tmp-step-000001.safetensors.1.abc'), null);
  assert.throws(() => checkpointFileName(-1));

  const store = new RunStore(freshDir()).init();
  assert.equal(store.latestCheckpoint(), null);
  for (const s of [0, 100, 200, 1000000]) {
    store.writeCheckpoint(
      s,
      [
        { name: 'layer0.weight', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6].map((x) => x * (s + 1))) },
        { name: 'layer0.bias', shape: [2], data: new Float32Array(2) },
      ],
      { arch: 'mlp' },
    );
  }
  assert.deepEqual(store.listCheckpoints(), [0, 100, 200, 1000000]);
  assert.equal(store.latestCheckpoint(), 1000000);
  assert.equal(store.latestCheckpoint(150), 100);
  const c = store.readCheckpoint(100);
  assert.deepEqual(c.metadata, { arch: 'mlp', step: '100' });
  assert.deepEqual(
    c.tensors.map((t) => t.name),
    ['layer0.weight', 'layer0.bias'],
  );
  assert.deepEqual([...c.tensors[0].data], [101, 202, 303, 404, 505, 606]);
  assert.ok(existsSync(join(store.dir, 'checkpoints', 'step-000000.safetensors')));
  assert.deepEqual(store.removeCheckpointsAfter(100), [200, 1000000]);
  assert.deepEqual(store.listCheckpoints(), [0, 100]);
  assert.deepEqual(readdirSync(store.checkpointsDir).sort(), ['step-000000.safetensors', 'step-000100.safetensors']);
});

test('sweep.json: write/read round trip; identical content is not rewritten; a grown sweep replaces it; a clash of run names is refused', () => {
  const dir = freshDir();
  assert.equal(hasSweepManifest(dir), false);
  assert.throws(
    () => readSweepManifest(dir),
    (e: Error) => e.message.includes(sweepManifestPath(dir)) && /not found/.test(e.message),
  );
  const m: SweepManifest = {
    name: 'lr',
    description: 'two rates',
    grid: { 'optimizer.lr': [0.1, 0.2] },
    runs: [
      { index: 0, name: 'lr-0.1', params: { 'optimizer.lr': 0.1 } },
      { index: 1, name: 'lr-0.2', params: { 'optimizer.lr': 0.2 } },
    ],
  };
  const logs: string[] = [];
  writeSweepManifest(dir, m, (l) => logs.push(l));
  assert.equal(sweepManifestPath(dir), join(dir, 'sweep.json'));
  assert.equal(hasSweepManifest(dir), true);
  assert.deepEqual(readSweepManifest(dir), m);
  const before = readFileSync(sweepManifestPath(dir), 'utf8');
  writeSweepManifest(dir, structuredClone(m), (l) => logs.push(l));
  assert.equal(logs.length, 0);
  assert.equal(readFileSync(sweepManifestPath(dir), 'utf8'), before);
  const grown: SweepManifest = {
    ...m,
    grid: { 'optimizer.lr': [0.1, 0.2, 0.4] },
    runs: [...m.runs, { index: 2, name: 'lr-0.4', params: { 'optimizer.lr': 0.4 } }],
  };
  writeSweepManifest(dir, grown, (l) => logs.push(l));
  assert.equal(logs.length, 1);
  assert.deepEqual(readSweepManifest(dir), grown);
  const clash: SweepManifest = {
    name: 'other',
    grid: {},
    runs: [{ index: 0, name: 'lr-0.2', params: { 'optimizer.lr': 9 } }],
  };
  assert.throws(
    () => writeSweepManifest(dir, clash),
    (e: Error) => e.message.includes(sweepManifestPath(dir)) && /another sweep uses this directory/.test(e.message),
  );
  assert.deepEqual(readSweepManifest(dir), grown);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith(TEMP_PREFIX)),
    [],
  );
});

test('sweep.json: a corrupted or malformed manifest gives an error naming the file; writing replaces a corrupted one', () => {
  const dir = freshDir();
  mkdirSync(dir, { recursive: true });
  const file = sweepManifestPath(dir);
  const good: SweepManifest = { name: null, grid: { a: [1] }, runs: [{ index: 0, name: 'a-1', params: { a: 1 } }] };
  const text = `${JSON.stringify(good, null, 2)}\n`;
  // Every truncation of a valid manifest (as a crash of a non-atomic writer could leave it).
  for (let cut = 1; cut < text.trimEnd().length; cut += 7) {
    writeFileSync(file, text.slice(0, cut));
    assert.throws(
      () => readSweepManifest(dir),
      (e: Error) => e.message.startsWith(`${file}: `),
      `cut at ${cut}`,
    );
  }
  for (const bad of [
    '[]',
    '{"name": 3, "grid": {}, "runs": []}',
    '{"name": null, "grid": {}, "runs": [{"index": "0", "name": "x"}]}',
    '{"name": null, "runs": []}',
  ]) {
    writeFileSync(file, bad);
    assert.throws(
      () => readSweepManifest(dir),
      (e: Error) => e.message === `${file}: not a sweep manifest ({name, grid, runs: [{index, name, params}]})`,
      bad,
    );
  }
  writeFileSync(file, '{"name": "x", "gr');
  writeSweepManifest(dir, good);
  assert.deepEqual(readSweepManifest(dir), good);
});

test('curvature snapshots: names round-trip through parse, listing is by step ascending and ignores other prefixes and files', () => {
  for (const step of [0, 7, 999_999, 1_000_000, 123_456_789]) {
    const name = curvatureSnapshotName('density', step);
    assert.equal(parseCurvatureSnapshotName(name, 'density'), step);
    assert.equal(parseCurvatureSnapshotName(name, 'slices'), null);
  }
  assert.equal(curvatureSnapshotName('slices', 20), 'slices-step-000020.json');
  assert.equal(parseCurvatureSnapshotName('density-step-20.json', 'density'), 20); // unpadded names from other writers
  for (const bad of [
    'density-step-.json',
    'density-step-1.json.tmp',
    'density-step-1a.json',
    'xdensity-step-1.json',
    'density-step-1.JSON',
  ])
    assert.equal(parseCurvatureSnapshotName(bad, 'density'), null, bad);
  assert.throws(() => curvatureSnapshotName('a*b', 1), /prefix/);
  assert.throws(() => curvatureSnapshotName('density', -1), /step/);
  assert.throws(() => curvatureSnapshotName('density', 1.5), /step/);

  const dir = freshDir();
  assert.deepEqual(listCurvatureSnapshots(dir, 'density'), []);
  const steps = [20, 0, 1_000_000, 5];
  for (const s of steps)
    assert.equal(writeCurvatureSnapshot(dir, 'density', s, { step: s }), curvatureSnapshotPath(dir, 'density', s));
  writeCurvatureSnapshot(dir, 'slices', 3, { step: 3 });
  writeFileSync(join(dir, 'curvature', 'density-step-000007.json.bak'), '{}');
  writeFileSync(join(dir, 'curvature', `${TEMP_PREFIX}density-step-000009.json.1.x`), '{}');
  const listed = listCurvatureSnapshots(dir, 'density');
  assert.deepEqual(
    listed.map((f) => f.step),
    [...steps].sort((a, b) => a - b),
  );
  for (const f of listed) {
    assert.equal(f.file, curvatureSnapshotPath(dir, 'density', f.step));
    assert.deepEqual(JSON.parse(readFileSync(f.file, 'utf8')), { step: f.step });
  }
  assert.deepEqual(
    listCurvatureSnapshots(dir, 'slices').map((f) => f.name),
    ['slices-step-000003.json'],
  );
});
