/**
 * The platform seam: an EngineRuntime on a platform other than the default (here the Node one,
 * wrapped to record what it is asked for) compiles and runs graphs through that platform only,
 * with the same results as backend.ts's Runtime; the basis kernels take their sessions from the
 * runtime's platform; graph fingerprints and device-value checks behave as before.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime, graphFingerprint } from '../../src/engine/backend.ts';
import { basisKernelsFor } from '../../src/engine/basisGraphs.ts';
import { GraphBuilder } from '../../src/engine/builder.ts';
import { nodePlatform } from '../../src/engine/nodePlatform.ts';
import * as o from '../../src/engine/ops.ts';
import type { EnginePlatform } from '../../src/engine/platform.ts';
import { EngineRuntime, graphFingerprint as fingerprintWith, isDeviceValue } from '../../src/engine/runtime.ts';

/** The Node platform, counting sessions, tensors and hashes. */
function countingPlatform(): {
  platform: EnginePlatform;
  counts: { sessions: number; tensors: number; hashes: number };
} {
  const counts = { sessions: 0, tensors: 0, hashes: 0 };
  const platform: EnginePlatform = {
    ...nodePlatform,
    name: 'counting',
    createSession(bytes, options) {
      counts.sessions++;
      return nodePlatform.createSession(bytes, options);
    },
    tensor(type, data, dims) {
      counts.tensors++;
      return nodePlatform.tensor(type, data, dims);
    },
    hasher() {
      counts.hashes++;
      return nodePlatform.hasher();
    },
  };
  return { platform, counts };
}

/** y = sum(tanh(x) · w) and its gradient-free companion z = x·x, x, w [2, 3]. */
function smallGraph() {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 3]);
  const w = b.input('w', [2, 3]);
  return b.build({ y: o.sum(o.mul(o.tanh(x), w)), z: o.mul(x, x) });
}

const x = Float32Array.from([0.1, -0.2, 0.3, 0.4, -0.5, 0.6]);
const w = Float32Array.from([1, 2, 3, -1, -2, -3]);

test('an EngineRuntime runs graphs through its platform, with the same outputs as Runtime', async () => {
  const { platform, counts } = countingPlatform();
  const engine = new EngineRuntime({ backend: 'ort', threads: 1, platform });
  const node = new Runtime({ backend: 'ort', threads: 1 });
  after(() => Promise.all([engine.dispose(), node.dispose()]));
  assert.equal(engine.platform, platform);
  assert.equal(node.platform, nodePlatform);
  const g = smallGraph();
  const a = await (await engine.compile(g)).run({ x, w });
  const r = await (await node.compile(g)).run({ x, w });
  assert.deepEqual(a, r);
  // The oracle: float64 arithmetic here, to float32 accuracy.
  let y = 0;
  for (let i = 0; i < 6; i++) y += Math.tanh(x[i]!) * w[i]!;
  assert.ok(Math.abs(a.y![0]! - y) < 1e-6);
  assert.deepEqual(
    Array.from(a.z!),
    Array.from(x, (v) => Math.fround(v * v)),
  );
  assert.equal(counts.sessions, 1);
  assert.equal(counts.tensors, 2);
  assert.equal(counts.hashes, 1);
  await engine.compile(smallGraph()); // same graph: cached, one more hash, no session
  assert.equal(counts.sessions, 1);
  assert.equal(counts.hashes, 2);
  // A Runtime-typed parameter takes an EngineRuntime (what train/ and curvature/ declare).
  const asRuntime: Runtime = engine;
  assert.equal(asRuntime.backend, 'ort');
});

test('basis kernels use the runtime platform; fingerprints and device-value checks are unchanged', async () => {
  const { platform, counts } = countingPlatform();
  const engine = new EngineRuntime({ backend: 'ort', threads: 1, platform });
  after(() => engine.dispose());
  const kernels = basisKernelsFor(engine)!;
  const Q = Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0]); // rows e1, e2 of R^4
  const v = Float32Array.from([3, 4, 0, 12]);
  const out = new Float32Array(4);
  const unit = new Float32Array(4);
  const { h, ss } = await kernels.sweep(Q, 2, v, out, unit);
  assert.deepEqual(Array.from(h), [3, 4]);
  assert.deepEqual(Array.from(out), [0, 0, 0, 12]);
  assert.equal(ss, 144);
  assert.deepEqual(Array.from(unit), [0, 0, 0, 1]);
  assert.equal(counts.sessions, 1);
  const g = smallGraph();
  assert.equal(graphFingerprint(g), fingerprintWith(g, nodePlatform.hasher()));
  assert.match(graphFingerprint(g), /^[0-9a-f]{64}$/);
  assert.equal(isDeviceValue(x), false);
  assert.equal(isDeviceValue({ kind: 'device', dtype: 'float32', dims: [1], released: false }), true);
});
