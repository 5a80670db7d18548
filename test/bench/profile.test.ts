/**
 * onnxruntime profiles (Runtime option `profile`): every compiled graph writes one on dispose,
 * and readProfiles/formatProfiles say where a run's time goes, per operator. Checked on real
 * profiles of a small graph, whose operators we know.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../../src/engine/backend.ts';
import { GraphBuilder } from '../../src/engine/builder.ts';
import * as o from '../../src/engine/ops.ts';
import { formatProfiles, parseProfile, readProfiles } from '../../src/bench/profile.ts';

test('a profiled Runtime writes one trace per graph; the summary counts its runs and operators', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'edgewise-profile-')), 'prof');
  const rt = new Runtime({ backend: 'ort', threads: 1, profile: dir });
  const b = new GraphBuilder();
  const x = b.input('x', [64, 32], 'float32');
  const w = b.input('w', [64, 32], 'float32');
  // Operators that onnxruntime's graph optimizer leaves as they are (no fusion).
  const exe = await rt.compile(b.build({ loss: o.sum(o.mul(o.tanh(x), w)) }));
  const feeds = { x: new Float32Array(64 * 32).fill(0.1), w: new Float32Array(64 * 32).fill(0.2) };
  for (let i = 0; i < 4; i++) await exe.run(feeds);
  await rt.dispose();
  const files = readdirSync(dir);
  assert.equal(files.length, 1, `one trace: ${files.join(', ')}`);
  assert.match(files[0]!, /^value-1_.*\.json$/);
  const [p] = readProfiles(dir);
  assert.equal(p!.graph, 'value-1');
  assert.equal(p!.runs, 4);
  const ops = new Set(p!.rows.map((r) => r.name));
  for (const op of ['Tanh', 'Mul', 'ReduceSum']) assert.ok(ops.has(op), `${op} in ${[...ops].join(', ')}`);
  const tanh = p!.rows.find((r) => r.name === 'Tanh')!;
  assert.equal(tanh.callsPerRun, 1);
  assert.equal(tanh.provider, 'CPUExecutionProvider');
  // Kernel times are parts of the run time.
  const kernels = p!.rows.reduce((s, r) => s + r.usPerRun, 0);
  assert.ok(kernels > 0 && kernels <= p!.usPerRun, `kernels ${kernels} µs of a ${p!.usPerRun} µs run`);
  const text = formatProfiles([p!]);
  assert.match(text, /^all graphs: 4 runs, [\d.]+ ms inside onnxruntime\nvalue-1: 4 runs, [\d.]+ ms per run/);
  assert.match(text, /node\s+Tanh\s+CPUExecutionProvider\s+1\.0/);
});

test('a corrupted profile is an error naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgewise-profile-'));
  writeFileSync(join(dir, 'hvp-2_2026-01-01_00-00-00_1.json'), '[{"cat": "Session"');
  assert.throws(() => readProfiles(dir), /profile .*hvp-2_2026-01-01_00-00-00_1\.json: not JSON/);
  assert.throws(() => parseProfile('x.json', '{}'), /x\.json: expected a JSON array/);
});
