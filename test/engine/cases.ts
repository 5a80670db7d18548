/** The primitive test cases shared by the derivative tests and the backend-agreement tests. */
import { type Case, o } from './harness.ts';

const cv = o.convAttrs({ stride: [2, 1], pad: [1, 0], dilation: [1, 2], groups: 2 });

export const CASES: Case[] = [
  { name: 'add (broadcast)', inputs: [{ shape: [3, 4] }, { shape: [4] }], f: o.add },
  { name: 'sub (broadcast)', inputs: [{ shape: [3, 1] }, { shape: [1, 4] }], f: o.sub },
  { name: 'mul (broadcast)', inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }], f: o.mul },
  { name: 'div', inputs: [{ shape: [3, 4] }, { shape: [3, 4], dist: 'positive' }], f: o.div },
  { name: 'pow (both args)', inputs: [{ shape: [5], dist: 'positive' }, { shape: [5] }], f: o.pow },
  { name: 'pow (constant exponent)', inputs: [{ shape: [5], dist: 'positive' }], f: (a) => o.pow(a, 3) },
  { name: 'maximum', inputs: [{ shape: [4, 3] }, { shape: [3] }], f: o.maximum },
  { name: 'neg', inputs: [{ shape: [6] }], f: o.neg },
  { name: 'exp', inputs: [{ shape: [6] }], f: o.exp },
  { name: 'log', inputs: [{ shape: [6], dist: 'positive' }], f: o.log },
  { name: 'tanh', inputs: [{ shape: [6] }], f: o.tanh },
  { name: 'sigmoid', inputs: [{ shape: [6] }], f: o.sigmoid },
  { name: 'sqrt', inputs: [{ shape: [6], dist: 'positive' }], f: o.sqrt },
  { name: 'rsqrt', inputs: [{ shape: [6], dist: 'positive' }], f: o.rsqrt },
  { name: 'abs', inputs: [{ shape: [6] }], f: o.abs },
  {
    name: 'sign (zero derivative)',
    inputs: [{ shape: [6] }, { shape: [6] }],
    f: (a, b) => o.mul(o.sign(a), o.mul(b, b)),
  },
  { name: 'erf', inputs: [{ shape: [6] }], f: o.erf },
  {
    name: 'cast float64→float32→float64',
    inputs: [{ shape: [6] }],
    f: (a) => o.tanh(o.cast(o.cast(a, 'float32'), a.dtype)),
  },
  {
    name: 'greater + where',
    inputs: [{ shape: [4, 3] }, { shape: [4, 3] }],
    f: (a, b) => o.where(o.greater(a, b), o.mul(a, b), o.exp(b)),
  },
  {
    name: 'less + where (broadcast)',
    inputs: [{ shape: [4, 1] }, { shape: [3] }],
    f: (a, b) => o.where(o.less(a, 0), o.tanh(b), o.mul(a, a)),
  },
  { name: 'equal', inputs: [{ shape: [5] }], f: (a) => o.where(o.equal(a, o.stopGradient(a)), o.exp(a), 0) },
  { name: 'reduceSum axes, keepDims', inputs: [{ shape: [2, 3, 4] }], f: (a) => o.tanh(o.sum(a, [0, 2], true)) },
  { name: 'reduceSum all', inputs: [{ shape: [2, 3] }], f: (a) => o.mul(o.sum(a), o.sum(o.mul(a, a))) },
  { name: 'reduceMax', inputs: [{ shape: [3, 5] }], f: (a) => o.max(o.mul(a, a), [1]) },
  { name: 'mean', inputs: [{ shape: [3, 5] }], f: (a) => o.exp(o.mean(a, [0])) },
  { name: 'reshape', inputs: [{ shape: [2, 6] }], f: (a) => o.mul(o.reshape(a, [3, 4]), o.reshape(o.tanh(a), [3, 4])) },
  {
    name: 'transpose',
    inputs: [{ shape: [2, 3, 4] }],
    f: (a) => o.mul(o.transpose(a, [2, 0, 1]), o.transpose(o.exp(a), [2, 0, 1])),
  },
  { name: 'broadcastTo', inputs: [{ shape: [3, 1] }], f: (a) => o.tanh(o.broadcastTo(a, [2, 3, 4])) },
  {
    name: 'concat',
    inputs: [{ shape: [2, 3] }, { shape: [2, 2] }],
    f: (a, b) => o.tanh(o.concat([a, o.mul(b, b), a], 1)),
  },
  { name: 'slice', inputs: [{ shape: [4, 5] }], f: (a) => o.mul(o.slice(a, 1, 1, 4), o.slice(o.exp(a), 1, 0, 3)) },
  { name: 'pad', inputs: [{ shape: [3, 2] }], f: (a) => o.tanh(o.add(o.pad(a, 0, 1, 2), 0.3)) },
  { name: 'matmul', inputs: [{ shape: [3, 4] }, { shape: [4, 5] }], f: (a, b) => o.matmul(a, b) },
  { name: 'matmul transA', inputs: [{ shape: [4, 3] }, { shape: [4, 5] }], f: (a, b) => o.matmul(a, b, true, false) },
  { name: 'matmul transB', inputs: [{ shape: [3, 4] }, { shape: [5, 4] }], f: (a, b) => o.matmul(a, b, false, true) },
  {
    name: 'matmul transA transB',
    inputs: [{ shape: [4, 3] }, { shape: [5, 4] }],
    f: (a, b) => o.matmul(a, b, true, true),
  },
  {
    name: 'batched matmul transB',
    inputs: [{ shape: [2, 3, 4] }, { shape: [2, 5, 4] }],
    f: (a, b) => o.matmul(a, b, false, true),
  },
  {
    name: 'batched matmul transA',
    inputs: [{ shape: [2, 4, 3] }, { shape: [2, 4, 5] }],
    f: (a, b) => o.tanh(o.matmul(a, b, true, false)),
  },
  {
    name: 'conv2d (stride, pad, dilation, groups)',
    inputs: [{ shape: [2, 4, 6, 7] }, { shape: [4, 2, 3, 2] }],
    f: (x, w) => o.conv2d(x, w, cv),
  },
  {
    name: 'conv2d plain',
    inputs: [{ shape: [2, 1, 5, 5] }, { shape: [3, 1, 3, 3] }],
    f: (x, w) => o.tanh(o.conv2d(x, w, { pad: 1 })),
  },
  {
    name: 'conv2dBackInput',
    inputs: [{ shape: [2, 4, 3, 5] }, { shape: [4, 2, 3, 2] }],
    f: (gy, w) => o.conv2dBackInput(gy, w, cv, [2, 4, 6, 7]),
  },
  {
    name: 'conv2dBackWeight',
    inputs: [{ shape: [2, 4, 6, 7] }, { shape: [2, 4, 3, 5] }],
    f: (x, gy) => o.conv2dBackWeight(x, gy, cv, [4, 2, 3, 2]),
  },
  {
    name: 'avgPool2d (pad)',
    inputs: [{ shape: [2, 2, 5, 5] }],
    f: (x) => o.avgPool2d(x, { kernel: 3, stride: 2, pad: 1 }),
  },
  {
    name: 'avgPool2dBack',
    inputs: [{ shape: [2, 2, 3, 3] }],
    f: (g) =>
      g.builder.apply(
        {
          kind: 'avgPool2dBack',
          kernel: [3, 3],
          stride: [2, 2],
          pad: [1, 1],
          dilation: [1, 1],
          inputShape: [2, 2, 5, 5],
        },
        [g],
      ),
  },
  {
    name: 'maxPool2d (overlapping)',
    inputs: [{ shape: [2, 2, 5, 5] }],
    f: (x) => o.maxPool2d(x, { kernel: 3, stride: 1 }),
  },
  {
    name: 'maxPool2d (pad, stride)',
    inputs: [{ shape: [1, 2, 5, 4] }],
    f: (x) => o.maxPool2d(o.tanh(x), { kernel: 2, stride: 2, pad: 1 }),
  },
  {
    name: 'maxPoolGather / maxPoolScatter',
    inputs: [{ shape: [1, 2, 4, 4] }, { shape: [1, 2, 4, 4] }, { shape: [1, 2, 3, 3] }],
    f: (x, t, g) => {
      const w = {
        kernel: [2, 2] as [number, number],
        stride: [1, 1] as [number, number],
        pad: [0, 0] as [number, number],
        dilation: [1, 1] as [number, number],
      };
      const gathered = x.builder.apply({ kind: 'maxPoolGather', ...w }, [x, t]);
      const scattered = x.builder.apply({ kind: 'maxPoolScatter', ...w }, [x, g]);
      return o.add(o.sum(o.mul(gathered, g)), o.sum(o.mul(scattered, o.tanh(t))));
    },
  },
  {
    name: 'gather',
    inputs: [{ shape: [5, 3] }, { shape: [2, 4], dist: 'index', max: 5 }],
    f: (t, i) => o.tanh(o.gather(t, i)),
  },
  {
    name: 'gatherBack',
    inputs: [{ shape: [6, 3] }, { shape: [6], dist: 'index', max: 4 }],
    f: (g, i) => o.tanh(g.builder.apply({ kind: 'gatherBack', rows: 4 }, [g, i])),
  },
  { name: 'logSoftmax', inputs: [{ shape: [4, 5] }], f: (a) => o.logSoftmax(a) },
  { name: 'softmax', inputs: [{ shape: [4, 5] }], f: (a) => o.softmax(a, 0) },
  { name: 'relu', inputs: [{ shape: [8] }], f: (a) => o.mul(o.relu(a), a) },
  { name: 'softplus', inputs: [{ shape: [8] }], f: (a) => o.softplus(o.mul(a, 3)) },
  { name: 'gelu', inputs: [{ shape: [8] }], f: o.gelu },
  { name: 'elu', inputs: [{ shape: [8] }], f: (a) => o.elu(a, 0.7) },
  { name: 'minimum', inputs: [{ shape: [8] }, { shape: [8] }], f: o.minimum },
];
