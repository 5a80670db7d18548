/** The run view's merging of streamed rows (web/src/run/mergeRows.ts), outside a browser. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricRowView } from '../../src/server/types.ts';
import { mergeRows } from '../../web/src/run/mergeRows.ts';

const row = (step: number, train_loss = step): MetricRowView => ({ step, train_loss }) as MetricRowView;
const steps = (rows: readonly MetricRowView[]): number[] => rows.map((r) => r.step);

test('streamed rows after the last step are appended in step order; repeats are dropped; the input is kept', () => {
  const held = [row(0), row(10)];
  const out = mergeRows(held, { reset: false, rows: [row(10, 99), row(30), row(20)] });
  assert.deepEqual(steps(out), [0, 10, 20, 30]);
  assert.equal(out[1]!.train_loss, 10, 'the row already held is kept, not the repeat');
  assert.deepEqual(steps(held), [0, 10]);
});

test('a reset replaces every row held (a run restarted from scratch)', () => {
  const out = mergeRows([row(0), row(10), row(20)], { reset: true, rows: [row(5, 1), row(0, 2)] });
  assert.deepEqual(steps(out), [0, 5]);
  assert.equal(out[0]!.train_loss, 2);
});
