// The tiny Transformer against independent oracles: its logits against a plain float64 JS
// implementation of the same architecture (pre-LN and post-LN), causality, the gradient and exact
// HVPs against central finite differences (reference backend, float64), onnxruntime against the
// reference interpreter, and the character windows.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../src/engine/backend.ts';
import { CompiledObjective } from '../../src/engine/objective.ts';
import { createRng } from '../../src/util/random.ts';
import * as ops from '../../src/engine/ops.ts';
import type { Tensor } from '../../src/engine/builder.ts';
import {
  buildTransformer,
  charWindows,
  transformerObjective,
  type TransformerModel,
} from '../../src/nn/transformer.ts';

const ref = new Runtime({ backend: 'reference' });
const ort = new Runtime({ backend: 'ort', threads: 1 });
after(async () => {
  await ref.dispose();
  await ort.dispose();
});

// ---- a direct float64 implementation (loops over plain arrays), the oracle for the forward pass.
type M = number[][];
const matT = (x: M, w: M, b: number[]): M =>
  x.map((r) => w.map((wr, j) => wr.reduce((s, wk, k) => s + wk * r[k]!, b[j]!)));
const ln = (x: M, g: number[], b: number[]): M =>
  x.map((r) => {
    const mu = r.reduce((s, v) => s + v, 0) / r.length;
    const va = r.reduce((s, v) => s + (v - mu) ** 2, 0) / r.length;
    return r.map((v, i) => ((v - mu) / Math.sqrt(va + 1e-5)) * g[i]! + b[i]!);
  });
const erf = (x: number): number => {
  // Maclaurin series (converges for all x; |x| stays small here), accurate to ~1e-15.
  let sum = x;
  let term = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
};
const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));

function oracleLogits(model: TransformerModel, theta: Float64Array, tokens: number[][]): number[] {
  const c = model.config;
  const P = (name: string): number[] => Array.from(model.layout.view(theta, name));
  const P2 = (name: string, rows: number, cols: number): M =>
    Array.from({ length: rows }, (_, i) => P(name).slice(i * cols, (i + 1) * cols));
  const d = c.dModel;
  const dh = d / c.heads;
  const out: number[] = [];
  for (const seq of tokens) {
    const tok = P2('tok.weight', c.vocab, d);
    const pos = P2('pos.weight', c.context, d);
    let h: M = seq.map((t, i) => tok[t]!.map((v, j) => v + pos[i]![j]!));
    const attn = (x: M, b: string): M => {
      const qkv = matT(x, P2(`${b}.attn.qkv.weight`, 3 * d, d), P(`${b}.attn.qkv.bias`));
      const o: M = x.map(() => new Array<number>(d).fill(0));
      for (let hd = 0; hd < c.heads; hd++) {
        for (let i = 0; i < x.length; i++) {
          const s: number[] = [];
          for (let j = 0; j <= i; j++) {
            let dot = 0;
            for (let k = 0; k < dh; k++) dot += qkv[i]![hd * dh + k]! * qkv[j]![d + hd * dh + k]!;
            s.push(dot / Math.sqrt(dh));
          }
          const m = Math.max(...s);
          const e = s.map((v) => Math.exp(v - m));
          const z = e.reduce((a, v) => a + v, 0);
          for (let j = 0; j <= i; j++)
            for (let k = 0; k < dh; k++) o[i]![hd * dh + k]! += (e[j]! / z) * qkv[j]![2 * d + hd * dh + k]!;
        }
      }
      return matT(o, P2(`${b}.attn.proj.weight`, d, d), P(`${b}.attn.proj.bias`));
    };
    const mlp = (x: M, b: string): M =>
      matT(
        matT(x, P2(`${b}.mlp.fc1.weight`, c.dFF, d), P(`${b}.mlp.fc1.bias`)).map((r) => r.map(gelu)),
        P2(`${b}.mlp.fc2.weight`, d, c.dFF),
        P(`${b}.mlp.fc2.bias`),
      );
    const addM = (a: M, b: M): M => a.map((r, i) => r.map((v, j) => v + b[i]![j]!));
    for (let l = 0; l < c.layers; l++) {
      const b = `h${l}`;
      const N = (x: M, n: string) => ln(x, P(`${b}.${n}.weight`), P(`${b}.${n}.bias`));
      if (c.norm === 'pre') {
        h = addM(h, attn(N(h, 'ln1'), b));
        h = addM(h, mlp(N(h, 'ln2'), b));
      } else {
        h = N(addM(h, attn(h, b)), 'ln1');
        h = N(addM(h, mlp(h, b)), 'ln2');
      }
    }
    if (c.norm === 'pre') h = ln(h, P('ln_f.weight'), P('ln_f.bias'));
    for (const r of matT(h, P2('head.weight', c.vocab, d), P('head.bias'))) out.push(...r);
  }
  return out;
}

function perturbed(model: TransformerModel, seed: number): Float64Array {
  // Random LayerNorm and bias values too, so that every parameter matters in the checks.
  const theta = model.init(createRng(seed));
  const rng = createRng(seed + 1);
  for (const p of model.params) {
    if (p.role === 'weight' || p.role === 'embedding') continue;
    const [a, b] = model.layout.range(p.name);
    for (let i = a; i < b; i++) theta[i] += 0.3 * rng.normal();
  }
  return theta;
}

const tiny = (norm: 'pre' | 'post', layers = 1) =>
  buildTransformer({ vocab: 5, context: 4, dModel: 4, heads: 2, layers, dFF: 6, norm });
const TOKENS = [
  [0, 3, 1, 4],
  [2, 2, 0, 1],
  [4, 1, 3, 0],
];
const data = (model: TransformerModel, tokens: number[][]) => {
  const V = model.config.vocab;
  const y = new Float64Array(tokens.length * model.config.context * V);
  tokens.forEach((s, b) => s.forEach((t, i) => (y[(b * s.length + i) * V + ((t + 1) % V)] = 1)));
  return { x: Float64Array.from(tokens.flat()), y };
};

test('parameters: names, shapes and count for pre-LN and post-LN', () => {
  const pre = buildTransformer({ vocab: 11, context: 7, dModel: 8, heads: 2, layers: 3, norm: 'pre' });
  const post = buildTransformer({ vocab: 11, context: 7, dModel: 8, heads: 2, layers: 3, norm: 'post' });
  const d = 8;
  const F = 32;
  const block = 2 * d + 3 * d * d + 3 * d + d * d + d + 2 * d + F * d + F + d * F + d;
  assert.equal(post.layout.size, 11 * d + 7 * d + 3 * block + 11 * d + 11);
  assert.equal(pre.layout.size, post.layout.size + 2 * d, 'pre-LN adds the final LayerNorm');
  assert.deepEqual(
    pre.params.slice(0, 3).map((p) => p.name),
    ['tok.weight', 'pos.weight', 'h0.ln1.weight'],
  );
  assert.throws(
    () => buildTransformer({ vocab: 5, context: 4, dModel: 6, heads: 4, layers: 1, norm: 'pre' }),
    /multiple of transformer.heads/,
  );
  assert.throws(
    () => buildTransformer({ vocab: 5, context: 4, dModel: 4, heads: 2, layers: 1, norm: 'mid' as never }),
    /transformer.norm/,
  );
});

test('logits equal a direct float64 implementation (pre-LN and post-LN, 2 blocks)', async () => {
  for (const norm of ['pre', 'post'] as const) {
    const model = tiny(norm, 2);
    const theta = perturbed(model, 3);
    const w = Float64Array.from({ length: TOKENS.length * 4 * 5 }, (_, i) => Math.sin(1 + i));
    const { x } = data(model, TOKENS);
    // Σ_i w_i·logit_i through the engine, against the oracle.
    const dot = new CompiledObjective(ref, {
      params: model.params,
      dtype: 'float64',
      data: [
        { name: 'x', shape: [TOKENS.length, 4], dtype: 'int64' },
        { name: 'w', shape: [TOKENS.length * 4, 5] },
      ],
      loss: (p, dd) => sumProduct(model.forward(p, dd.x!), dd.w!),
    });
    const got = (await dot.value(theta, { x, w })).loss;
    const want = oracleLogits(model, theta, TOKENS).reduce((s, v, i) => s + v * w[i]!, 0);
    assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${norm}: ${got} vs ${want}`);
  }
});

/** Σ a ⊙ b: reads logits out of the engine through a scalar. */
function sumProduct(a: Tensor, b: Tensor): Tensor {
  return ops.sum(ops.mul(a, b));
}

test('causal: changing later tokens leaves earlier logits unchanged', async () => {
  const model = tiny('post', 2);
  const theta = perturbed(model, 5);
  const a = oracleLogits(model, theta, [[1, 2, 3, 4]]);
  const b = oracleLogits(model, theta, [[1, 2, 0, 0]]);
  assert.deepEqual(a.slice(0, 2 * 5), b.slice(0, 2 * 5));
  // …and the engine agrees position by position.
  const pick = async (tokens: number[]) => {
    const out: number[] = [];
    for (let pos = 0; pos < 4; pos++) {
      const w = new Float64Array(4 * 5);
      w[pos * 5 + 2] = 1;
      const obj = new CompiledObjective(ref, {
        params: model.params,
        dtype: 'float64',
        data: [
          { name: 'x', shape: [1, 4], dtype: 'int64' },
          { name: 'w', shape: [4, 5] },
        ],
        loss: (p, dd) => sumProduct(model.forward(p, dd.x!), dd.w!),
      });
      out.push((await obj.value(theta, { x: Float64Array.from(tokens), w })).loss);
    }
    return out;
  };
  const ea = await pick([1, 2, 3, 4]);
  const eb = await pick([1, 2, 0, 0]);
  assert.equal(ea[0], eb[0]);
  assert.equal(ea[1], eb[1]);
  assert.notEqual(ea[2], eb[2]);
});

test('gradient and exact HVP match central finite differences (float64 reference backend)', async () => {
  for (const norm of ['pre', 'post'] as const) {
    const model = tiny(norm);
    const theta = perturbed(model, 7);
    const obj = new CompiledObjective(ref, transformerObjective(model, TOKENS.length, 'float64'));
    const d = data(model, TOKENS);
    const g = (await obj.valueAndGrad(theta, d)).grad;
    const rng = createRng(11);
    const v = Float64Array.from({ length: theta.length }, () => rng.normal());
    const h = 1e-5;
    const shifted = (s: number) => Float64Array.from(theta, (t, i) => t + s * h * v[i]!);
    // Directional derivative of the loss vs gᵀv.
    const lp = (await obj.value(shifted(1), d)).loss;
    const lm = (await obj.value(shifted(-1), d)).loss;
    let gv = 0;
    for (let i = 0; i < g.length; i++) gv += g[i]! * v[i]!;
    assert.ok(
      Math.abs((lp - lm) / (2 * h) - gv) <= 1e-6 * Math.max(1, Math.abs(gv)),
      `${norm}: FD ${(lp - lm) / (2 * h)} vs gᵀv ${gv}`,
    );
    // H v vs the central difference of gradients.
    const hv = await (await obj.at(theta, d)).hvp(v);
    const gp = (await obj.valueAndGrad(shifted(1), d)).grad;
    const gm = (await obj.valueAndGrad(shifted(-1), d)).grad;
    let num = 0;
    let den = 0;
    for (let i = 0; i < theta.length; i++) {
      const fd = (gp[i]! - gm[i]!) / (2 * h);
      num += (fd - hv[i]!) ** 2;
      den += hv[i]! ** 2;
    }
    assert.ok(Math.sqrt(num / den) < 1e-5, `${norm}: HVP relative error ${Math.sqrt(num / den)}`);
  }
});

test('onnxruntime (float32) agrees with the reference interpreter (float64)', async () => {
  const text = 'abcdefgabcdefgfedcba gfe dcba';
  const w = charWindows(text, 6, { stride: 3 });
  assert.equal(w.vocab.length, 8);
  const m8 = buildTransformer({ vocab: 8, context: 6, dModel: 8, heads: 2, layers: 2, norm: 'post' });
  const th8 = m8.init(createRng(2));
  const a = await new CompiledObjective(ref, transformerObjective(m8, w.n, 'float64')).valueAndGrad(th8, {
    x: w.x,
    y: w.y,
  });
  const b = await new CompiledObjective(ort, transformerObjective(m8, w.n, 'float32')).valueAndGrad(
    Float32Array.from(th8),
    { x: w.x, y: w.y },
  );
  assert.ok(Math.abs(a.loss - b.loss) < 1e-4 * Math.abs(a.loss), `${a.loss} vs ${b.loss}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.grad.length; i++) {
    num += (a.grad[i]! - b.grad[i]!) ** 2;
    den += a.grad[i]! ** 2;
  }
  assert.ok(Math.sqrt(num / den) < 1e-3, `gradient relative error ${Math.sqrt(num / den)}`);
});

test('charWindows: sorted vocabulary, targets are the inputs shifted by one, windows spread over the text', () => {
  const text = 'the cat sat on the mat';
  const w = charWindows(text, 5, { stride: 4 });
  assert.deepEqual(w.vocab, [...new Set(text)].sort());
  assert.equal(w.n, Math.floor((text.length - 6) / 4) + 1);
  const V = w.vocab.length;
  for (let b = 0; b < w.n; b++) {
    for (let t = 0; t < 5; t++) {
      assert.equal(w.vocab[w.x[b * 5 + t]!], text[b * 4 + t]);
      const row = Array.from(w.y.subarray((b * 5 + t) * V, (b * 5 + t + 1) * V));
      assert.equal(
        row.reduce((s, v) => s + v, 0),
        1,
      );
      assert.equal(w.vocab[row.indexOf(1)], text[b * 4 + t + 1]);
    }
  }
  const few = charWindows(text, 5, { stride: 1, maxWindows: 3 });
  assert.equal(few.n, 3);
  assert.throws(() => charWindows('abc', 5), /shorter than context/);
});
