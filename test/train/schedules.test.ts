// Learning-rate schedules at their boundary steps, against the closed forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSchedule, learningRateAt } from '../../src/train/index.ts';

const close = (a: number, b: number, msg?: string): void =>
  assert.ok(Math.abs(a - b) <= 1e-15 * Math.max(1, Math.abs(b)), `${msg ?? ''} got ${a}, expected ${b}`);

test('constant and default', () => {
  for (const t of [0, 1, 10, 1e6]) {
    assert.equal(learningRateAt({}, 0.05, t), 0.05);
    assert.equal(learningRateAt({ decay: 'constant', warmup_steps: 0 }, 0.05, t), 0.05);
  }
});

test('linear warmup: η (t + 1)/W for t < W, then η', () => {
  const lr = 0.3;
  const W = 10;
  const f = createSchedule({ warmup_steps: W }, lr);
  close(f(0), lr / W, 't=0');
  close(f(4), (lr * 5) / W, 't=4');
  close(f(W - 1), lr, 't=W-1');
  close(f(W), lr, 't=W');
  close(f(W + 100), lr, 't=W+100');
  for (let t = 1; t < W; t++) assert.ok(f(t) > f(t - 1), 'monotone during warmup');
});

test('cosine: η at the end of warmup, (η + min)/2 halfway, min_lr at total_steps and after', () => {
  const lr = 0.2;
  const W = 5;
  const T = 105;
  const minLr = 0.01;
  const f = createSchedule({ warmup_steps: W, decay: 'cosine', total_steps: T, min_lr: minLr }, lr);
  close(f(W - 1), lr, 'warmup end');
  close(f(W), lr, 'decay start');
  close(f((W + T) / 2), (lr + minLr) / 2, 'halfway');
  close(f(W + 25), minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI / 4)), 'quarter');
  close(f(T - 1), minLr + (lr - minLr) * 0.5 * (1 + Math.cos((Math.PI * (T - 1 - W)) / (T - W))), 'T-1');
  close(f(T), minLr, 'T');
  close(f(T + 1), minLr, 'after T');
  close(f(T + 50), minLr, 'after T (where an unclamped cosine would be back at the midpoint)');
  close(f(T + 1000), minLr, 'long after T');
  // min_lr defaults to 0; no warmup.
  const g = createSchedule({ decay: 'cosine', total_steps: 100 }, 1);
  close(g(0), 1);
  close(g(50), 0.5);
  assert.equal(g(100), 0);
});

test('step decay: η γ^⌊(t − W)/step_size⌋', () => {
  const lr = 0.1;
  const f = createSchedule({ warmup_steps: 3, decay: 'step', step_size: 10, gamma: 0.5 }, lr);
  close(f(2), lr, 'last warmup step');
  close(f(3), lr);
  close(f(12), lr, 'last step before the first decay');
  close(f(13), lr * 0.5, 'first decay');
  close(f(22), lr * 0.5);
  close(f(23), lr * 0.25);
  const g = createSchedule({ decay: 'step', step_size: 1 }, 1); // gamma defaults to 0.1
  close(g(0), 1);
  close(g(1), 0.1);
  close(g(3), 1e-3);
});

test('schedule errors name the key', () => {
  assert.throws(
    () => createSchedule({ decay: 'linear' }, 0.1),
    (e: Error) => /schedule\.decay/.test(e.message) && /constant, cosine, step/.test(e.message),
  );
  assert.throws(() => createSchedule({ decay: 'cosine' }, 0.1), /schedule\.total_steps is required/);
  assert.throws(() => createSchedule({ decay: 'cosine', warmup_steps: 10, total_steps: 10 }, 0.1), /must exceed/);
  assert.throws(() => createSchedule({ decay: 'step' }, 0.1), /schedule\.step_size is required/);
  assert.throws(() => createSchedule({ warmup_steps: 1.5 }, 0.1), /schedule\.warmup_steps/);
  assert.throws(() => createSchedule({ decay: 'step', step_size: 5, gamma: 0 }, 0.1), /schedule\.gamma/);
  assert.throws(() => createSchedule({}, 0.1)(-1), /step must be/);
});
