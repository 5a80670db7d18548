/**
 * Every primitive's reverse-mode (vjp), forward-mode (jvp) and second-order (forward-over-
 * reverse HVP) derivatives against central finite differences in float64 on the reference
 * backend, and the onnxruntime backend against the reference on the same graphs.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { checkAgainstReference, finiteDifferenceCheck } from './harness.ts';
import { CASES } from './cases.ts';
import { Runtime } from '../../src/engine/backend.ts';

describe('derivatives of every primitive vs central finite differences (float64 reference)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      for (const seed of [0, 1]) {
        const r = finiteDifferenceCheck(c, seed);
        assert.ok(r.grad < 1e-6, `vjp rel. error ${r.grad}`);
        assert.ok(r.jvp < 1e-6, `jvp rel. error ${r.jvp}`);
        assert.ok(r.hvp < 1e-6, `hvp rel. error ${r.hvp}`);
      }
    });
  }
});

describe('onnxruntime backend agrees with the reference (float32 vs float64)', () => {
  const rt = new Runtime({ backend: 'ort', threads: 1 });
  after(() => rt.dispose());
  for (const c of CASES) it(c.name, () => checkAgainstReference(rt, c));
});
