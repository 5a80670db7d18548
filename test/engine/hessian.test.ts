/**
 * Whole-network second order: on a tiny MLP and a tiny CNN (conv, a normalization layer, max
 * and average pooling), the Hessian assembled column by column from exact HVPs is symmetric
 * and equals the finite-difference Jacobian of the exact gradient (float64 reference backend).
 * The same HVPs through onnxruntime (float32, with the split/cached HVP graph) agree.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/engine/backend.ts';
import type { ObjectiveSpec } from '../../src/engine/objective.ts';
import { relErr } from './harness.ts';
import { checkOrtAgrees, cnnSpec, mlpSpec, randomProblem } from './networks.ts';

async function checkHessian(spec: ObjectiveSpec): Promise<void> {
  const { obj, theta, data } = randomProblem(spec, 3);
  const P = obj.layout.size;
  const at = await obj.at(theta, data);
  const H = new Float64Array(P * P);
  for (let j = 0; j < P; j++) {
    const e = new Float64Array(P);
    e[j] = 1;
    const col = await at.hvp(e);
    for (let i = 0; i < P; i++) H[i * P + j] = col[i]!;
  }
  // Symmetry (exact arithmetic would give 0; float64 rounding gives ~1e-16).
  let asym = 0;
  let norm = 0;
  for (let i = 0; i < P; i++)
    for (let j = 0; j < P; j++) {
      asym += (H[i * P + j]! - H[j * P + i]!) ** 2;
      norm += H[i * P + j]! ** 2;
    }
  assert.ok(Math.sqrt(asym / norm) < 1e-12, `Hessian asymmetry ${Math.sqrt(asym / norm)}`);
  // Central finite differences of the exact gradient, column by column.
  const h = 1e-5;
  const F = new Float64Array(P * P);
  for (let j = 0; j < P; j++) {
    const tp = theta.slice();
    const tm = theta.slice();
    tp[j]! += h;
    tm[j]! -= h;
    const gp = (await obj.valueAndGrad(tp, data)).grad;
    const gm = (await obj.valueAndGrad(tm, data)).grad;
    for (let i = 0; i < P; i++) F[i * P + j] = (gp[i]! - gm[i]!) / (2 * h);
  }
  const e = relErr(H, F);
  assert.ok(e < 1e-6, `Hessian vs FD Jacobian of the gradient: rel. error ${e}`);
}

describe('Hessian of whole networks from exact HVPs', () => {
  const rt = new Runtime({ backend: 'ort', threads: 1 });
  after(() => rt.dispose());
  it('tiny MLP: symmetric, equals the FD Jacobian of the gradient', () => checkHessian(mlpSpec('float64')));
  it('tiny CNN with normalization and pooling: symmetric, equals the FD Jacobian', () =>
    checkHessian(cnnSpec('float64')));
  it('tiny MLP: onnxruntime HVP and gradient agree with the reference', () =>
    checkOrtAgrees(mlpSpec('float64'), mlpSpec('float32'), rt));
  it('tiny CNN: onnxruntime HVP and gradient agree with the reference', () =>
    checkOrtAgrees(cnnSpec('float64'), cnnSpec('float32'), rt));
});
