/**
 * The benchmark networks, written directly with the engine's ops so that the PyTorch peer
 * (bench/peers/torch_bench.py) can mirror them line by line: same parameter order and layout
 * ([out, in] weights), same loss definitions.
 */
import type { Tensor } from '../engine/builder.ts';
import * as o from '../engine/ops.ts';
import type { ObjectiveSpec } from '../engine/objective.ts';
import type { ParamSpec } from '../engine/params.ts';

export type LossName = 'cross-entropy' | 'mse';

function lossOf(name: LossName, logits: Tensor, y: Tensor): Tensor {
  if (name === 'cross-entropy') return o.neg(o.mean(o.sum(o.mul(o.logSoftmax(logits), y), [1])));
  const r = o.sub(logits, y);
  return o.mul(o.sum(o.mul(r, r)), 0.5 / logits.shape[0]!);
}

/** Fully connected net dims[0] → … → dims[L], activation between layers, biases. */
export function mlpSpec(
  dims: readonly number[],
  batch: number,
  loss: LossName,
  activation: 'tanh' | 'relu' = 'tanh',
): ObjectiveSpec {
  const params: ParamSpec[] = [];
  for (let l = 0; l + 1 < dims.length; l++) {
    params.push(
      { name: `fc${l + 1}.weight`, shape: [dims[l + 1]!, dims[l]!] },
      { name: `fc${l + 1}.bias`, shape: [dims[l + 1]!] },
    );
  }
  const act = activation === 'tanh' ? o.tanh : o.relu;
  const forward = (p: Record<string, Tensor>, d: Record<string, Tensor>): Tensor => {
    let h = d.x!;
    for (let l = 1; l < dims.length; l++) {
      h = o.add(o.matmul(h, p[`fc${l}.weight`]!, false, true), p[`fc${l}.bias`]!);
      if (l + 1 < dims.length) h = act(h);
    }
    return h;
  };
  return {
    params,
    dtype: 'float32',
    data: [
      { name: 'x', shape: [batch, dims[0]!] },
      { name: 'y', shape: [batch, dims[dims.length - 1]!] },
    ],
    loss(p, d) {
      return lossOf(loss, forward(p, d), d.y!);
    },
    // The loss as ℓ(f, y) on the outputs: the objective has Gauss–Newton products too.
    outputs: { output: forward, outputLoss: (f, d) => lossOf(loss, f, d.y!) },
  };
}

/** conv 32 3x3 – relu – avgpool 2 – conv 64 3x3 – relu – avgpool 2 – dense 10, input 1x28x28. */
export function cnnSpec(batch: number, loss: LossName): ObjectiveSpec {
  return {
    dtype: 'float32',
    params: [
      { name: 'conv1.weight', shape: [32, 1, 3, 3] },
      { name: 'conv1.bias', shape: [32] },
      { name: 'conv2.weight', shape: [64, 32, 3, 3] },
      { name: 'conv2.bias', shape: [64] },
      { name: 'fc.weight', shape: [10, 64 * 5 * 5] },
      { name: 'fc.bias', shape: [10] },
    ],
    data: [
      { name: 'x', shape: [batch, 1, 28, 28] },
      { name: 'y', shape: [batch, 10] },
    ],
    loss(p, d) {
      let h = o.add(o.conv2d(d.x!, p['conv1.weight']!), o.reshape(p['conv1.bias']!, [1, 32, 1, 1])); // 26x26
      h = o.avgPool2d(o.relu(h), { kernel: 2 }); // 13x13
      h = o.add(o.conv2d(h, p['conv2.weight']!), o.reshape(p['conv2.bias']!, [1, 64, 1, 1])); // 11x11
      h = o.avgPool2d(o.relu(h), { kernel: 2 }); // 5x5
      h = o.reshape(h, [batch, 64 * 25]);
      return lossOf(loss, o.add(o.matmul(h, p['fc.weight']!, false, true), p['fc.bias']!), d.y!);
    },
  };
}
