// The seeded minibatch sampler: reproducible, one pass per epoch, random access by step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/util/random.ts';
import { createBatchSampler } from '../../src/train/index.ts';

test('keep-last: every sample exactly once per epoch, last batch smaller', () => {
  const n = 103;
  const bs = 10;
  const s = createBatchSampler({ n, batch_size: bs, seed: 42 });
  assert.equal(s.batchesPerEpoch, 11);
  let step = 0;
  const epochs: number[][] = [];
  for (let e = 0; e < 5; e++) {
    const seen = new Uint8Array(n);
    const order: number[] = [];
    for (let k = 0; k < s.batchesPerEpoch; k++, step++) {
      assert.equal(s.epochOf(step), e);
      const b = s.batch(step);
      assert.equal(b.length, k < 10 ? bs : n - 10 * bs);
      for (const i of b) {
        assert.ok(i >= 0 && i < n, `index ${i} in range`);
        seen[i]++;
        order.push(i);
      }
    }
    assert.ok(
      seen.every((c) => c === 1),
      `epoch ${e} covers each sample once`,
    );
    epochs.push(order);
  }
  // Each epoch reshuffles.
  for (let e = 1; e < epochs.length; e++) assert.notDeepEqual(epochs[e], epochs[e - 1]);
  assert.notDeepEqual(
    epochs[0],
    Array.from({ length: n }, (_, i) => i),
  );
});

test('drop-last: equal batches, distinct samples within an epoch', () => {
  const n = 103;
  const s = createBatchSampler({ n, batch_size: 10, seed: 1, drop_last: true });
  assert.equal(s.batchesPerEpoch, 10);
  for (let e = 0; e < 3; e++) {
    const seen = new Uint8Array(n);
    for (let k = 0; k < 10; k++) {
      const b = s.batch(e * 10 + k);
      assert.equal(b.length, 10);
      for (const i of b) seen[i]++;
    }
    assert.ok(
      seen.every((c) => c <= 1),
      `epoch ${e}: no sample twice`,
    );
    assert.equal(
      seen.reduce((a, c) => a + c, 0),
      100,
    );
  }
});

test('reproducible from the seed; different seeds differ', () => {
  const a = createBatchSampler({ n: 60, batch_size: 7, seed: 5 });
  const b = createBatchSampler({ n: 60, batch_size: 7, seed: 5 });
  const c = createBatchSampler({ n: 60, batch_size: 7, seed: 6 });
  let differs = false;
  for (let t = 0; t < 40; t++) {
    assert.deepEqual(a.batch(t), b.batch(t));
    if (a.batch(t).join() !== c.batch(t).join()) differs = true;
  }
  assert.ok(differs, 'seeds 5 and 6 give different batches');
});

test('batch t can be recomputed without replaying earlier steps', () => {
  const cfg = { n: 37, batch_size: 5, seed: 2024 };
  const sequential = createBatchSampler(cfg);
  const steps = 200;
  const seq = Array.from({ length: steps }, (_, t) => sequential.batch(t));
  // A fresh sampler (as after a resume) queried in a random order, one fresh sampler per query.
  const rng = createRng(9);
  const order = Array.from({ length: steps }, (_, t) => t);
  for (let i = steps - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const random = createBatchSampler(cfg);
  for (const t of order) {
    assert.deepEqual(random.batch(t), seq[t], `step ${t}`);
    assert.deepEqual(createBatchSampler(cfg).batch(t), seq[t], `step ${t}, fresh sampler`);
  }
  // Far-away steps are cheap and consistent.
  const far = 10_000_000;
  assert.deepEqual(createBatchSampler(cfg).batch(far), random.batch(far));
  // The returned arrays are copies: mutating one does not change later answers.
  const x = random.batch(3);
  x.fill(-1);
  assert.deepEqual(random.batch(3), seq[3]);
});

test('full batch and errors', () => {
  const s = createBatchSampler({ n: 8, batch_size: 'full', seed: 0 });
  assert.equal(s.batchesPerEpoch, 1);
  assert.deepEqual(Array.from(s.batch(0)), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(s.batch(123), s.batch(0));
  assert.equal(s.epochOf(5), 5);
  assert.throws(() => createBatchSampler({ n: 8, batch_size: 9, seed: 0 }), /exceeds the number of training samples/);
  assert.throws(() => createBatchSampler({ n: 8, batch_size: 0, seed: 0 }), /optimizer\.batch_size/);
  assert.throws(() => createBatchSampler({ n: 8, batch_size: 2.5, seed: 0 }), /optimizer\.batch_size/);
  assert.throws(() => s.batch(-1), /step must be/);
});
