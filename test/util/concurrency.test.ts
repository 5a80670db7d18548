import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLimiter, mapWithConcurrency } from '../../src/util/concurrency.ts';
import { createRng } from '../../src/util/random.ts';

/** Records how many tasks run at once. */
function tracker() {
  let active = 0;
  let peak = 0;
  return {
    async run<T>(ms: number, value: T): Promise<T> {
      active++;
      peak = Math.max(peak, active);
      await sleep(ms);
      active--;
      return value;
    },
    get peak() {
      return peak;
    },
    get active() {
      return active;
    },
  };
}

test('mapWithConcurrency: results in item order, never more than `limit` in flight, and the limit is reached', async () => {
  const rng = createRng(3);
  const delays = Array.from({ length: 23 }, () => Math.floor(rng.uniform() * 8));
  for (const limit of [1, 3, 50]) {
    const t = tracker();
    const started: number[] = [];
    const out = await mapWithConcurrency(delays, limit, (ms, i) => (started.push(i), t.run(ms, i * i)));
    assert.deepEqual(
      out,
      delays.map((_, i) => i * i),
    );
    assert.deepEqual(
      started,
      delays.map((_, i) => i),
    ); // started in item order
    assert.equal(t.peak, Math.min(limit, delays.length));
  }
  assert.deepEqual(await mapWithConcurrency([], 4, async () => 1), []);
  await assert.rejects(
    mapWithConcurrency([1], 0, async () => 1),
    RangeError,
  );
});

test('mapWithConcurrency: after the first failure nothing new starts, the calls in flight finish, then the first error is thrown', async () => {
  const t = tracker();
  const started: number[] = [];
  const err = await mapWithConcurrency(
    Array.from({ length: 10 }, (_, i) => i),
    3,
    async (i) => {
      started.push(i);
      if (i === 1) {
        await sleep(2);
        throw new Error('first');
      }
      if (i === 2) {
        await sleep(10);
        throw new Error('second');
      }
      return t.run(20, i);
    },
  ).catch((e: Error) => e);
  assert.equal((err as Error).message, 'first');
  assert.equal(t.active, 0, 'nothing left running when it rejects');
  assert.deepEqual(started, [0, 1, 2]);
});

test('createLimiter: shared by independent callers, at most `limit` at once, FIFO, a rejection frees its slot', async () => {
  const limit = createLimiter(2);
  const t = tracker();
  const order: number[] = [];
  const tasks = Array.from({ length: 9 }, (_, i) =>
    limit(async () => {
      order.push(i);
      if (i === 3) throw new Error('boom');
      return t.run(3 + (i % 3), i);
    }).catch((e: Error) => e.message),
  );
  // A caller arriving while a slot is being handed over must still wait its turn.
  await sleep(1);
  const late = limit(() => t.run(1, 'late'));
  const results = await Promise.all([...tasks, late]);
  assert.deepEqual(results, [0, 1, 2, 'boom', 4, 5, 6, 7, 8, 'late']);
  assert.deepEqual(order.slice(0, 9), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(t.peak, 2);
  assert.throws(() => createLimiter(1.5), RangeError);
});
