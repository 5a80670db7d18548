/**
 * Nodes of a lowered model that must run on onnxruntime's CPU provider under `webgpu`.
 *
 * onnxruntime-node 1.30's WebGPU MaxPool kernel claims every MaxPool node, then fails at run
 * time when the node also outputs the argmax Indices ("The Indices output is not supported
 * yet"); our lowering uses them for max-pool gradients (maxPoolGather/maxPoolScatter). Such
 * nodes are named here and forced onto the CPU; the rest of the graph stays on the GPU.
 */
import type { OnnxModel } from '../onnx/proto.ts';

/** Names (assigned in place where missing) of the nodes in `model` that the WebGPU provider cannot run. */
export function forceCpuNodes(model: OnnxModel): string[] {
  const names: string[] = [];
  model.nodes.forEach((n, i) => {
    if (n.opType === 'MaxPool' && n.outputs.length > 1 && n.outputs[1] !== '') {
      n.name ??= `maxpool_indices_${i}`;
      names.push(n.name);
    }
  });
  return names;
}
