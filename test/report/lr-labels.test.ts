/**
 * Learning rates in figure legends and tables: 4 significant digits (formatLr), except where
 * rounding would give two runs the same legend label.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLr } from '../../src/util/format.ts';
import { showParam, sweepPoints } from '../../src/report/sweepFigures.ts';
import type { SweepData } from '../../src/report/data.ts';

test('formatLr: 4 significant digits without trailing zeros; non-finite values as text', () => {
  assert.equal(formatLr(0.03884380600124638), '0.03884');
  assert.equal(formatLr(0.1165314180037391), '0.1165');
  assert.equal(formatLr(0.02), '0.02');
  assert.equal(formatLr(1.23456e-5), '0.00001235');
  assert.equal(formatLr(3), '3');
  assert.equal(formatLr(Number.NaN), 'NaN');
});

test('showParam rounds learning-rate keys only', () => {
  assert.equal(showParam('optimizer.lr', 0.03884380600124638), '0.03884');
  assert.equal(showParam('train.seed', 123456789), '123456789');
  assert.equal(showParam('model.widths', [200, 200]), '200×200');
});

const sweep = (lrs: number[]): SweepData => ({
  dir: '/nowhere',
  name: 's',
  keys: ['optimizer.lr', 'train.seed'],
  warnings: [],
  runs: lrs.map((lr, i) => ({ name: `r${i}`, index: i, params: { 'optimizer.lr': lr, 'train.seed': 0 }, run: null })),
});

test('sweep legend labels show η with 4 significant digits (the demo’s 1/λ0 and 3/λ0)', () => {
  const labels = sweepPoints(sweep([0.03884380600124638, 0.1165314180037391])).map((p) => p.label);
  assert.deepEqual(labels, ['lr=0.03884, seed=0', 'lr=0.1165, seed=0']);
});

test('sweep legend labels keep full values where 4 digits would make two runs look the same', () => {
  const labels = sweepPoints(sweep([0.038843, 0.038844, 0.1])).map((p) => p.label);
  assert.deepEqual(labels, ['lr=0.038843, seed=0', 'lr=0.038844, seed=0', 'lr=0.1, seed=0']);
  assert.equal(new Set(labels).size, 3);
});
