/**
 * A tiny decoder-only Transformer for character-level next-token prediction, built from engine
 * ops (gather, batched rank-3 matmul, softmax, layer norm) so that its gradient and exact
 * Hessian-vector products come from the same vjp/jvp transforms as every other model.
 *
 *   h0 = tok[x] + pos                                  x [B, T] int64 → [B, T, d]
 *   pre-LN block:   h = h + Attn(LN1(h));  h = h + MLP(LN2(h))       (+ final LN before the head)
 *   post-LN block:  h = LN1(h + Attn(h));  h = LN2(h + MLP(h))       (Vaswani et al. 2017)
 *   logits = h Wᵀ + b                                  [B·T, V]
 * Attn is causal multi-head self-attention (H heads of size d/H, scores scaled by 1/√(d/H), an
 * additive −1e9 mask above the diagonal); MLP is dense(d→dFF) → GELU → dense(dFF→d). LayerNorm
 * normalizes over the feature axis only (eps 1e-5).
 *
 * Parameters (forward order): `tok.weight` [V, d], `pos.weight` [T, d], per block `h<i>.ln1.weight`,
 * `.ln1.bias`, `.attn.qkv.weight` [3d, d], `.attn.qkv.bias`, `.attn.proj.weight` [d, d],
 * `.attn.proj.bias`, `.ln2.*`, `.mlp.fc1.weight` [dFF, d], `.mlp.fc1.bias`, `.mlp.fc2.weight`
 * [d, dFF], `.mlp.fc2.bias`; pre-LN adds `ln_f.*`; then `head.weight` [V, d], `head.bias`.
 * Initialization (PyTorch defaults in spirit): embeddings N(0, 1), dense weights LeCun normal
 * (std 1/√fan_in), biases 0, LayerNorm γ = 1, β = 0; `initScale` multiplies the dense weights.
 */
import type { Tensor } from '../engine/builder.ts';
import type { ObjectiveSpec } from '../engine/objective.ts';
import * as o from '../engine/ops.ts';
import { ParameterLayout, type ParamSpec } from '../engine/params.ts';
import type { Rng } from '../util/random.ts';
import { accuracy, crossEntropy } from './lossFunctions.ts';

export const LN_PLACEMENTS = ['pre', 'post'] as const;
export type LnPlacement = (typeof LN_PLACEMENTS)[number];

export interface TransformerConfig {
  /** Vocabulary size V. */
  readonly vocab: number;
  /** Context length T (positions). */
  readonly context: number;
  /** Model width d (a multiple of heads). */
  readonly dModel: number;
  readonly heads: number;
  readonly layers: number;
  /** MLP width; default 4d. */
  readonly dFF?: number;
  /** Where LayerNorm sits: pre-LN (GPT-2) or post-LN (original Transformer). */
  readonly norm: LnPlacement;
  /** Multiplier on the dense weights' init std (default 1). */
  readonly initScale?: number;
}

/** What a Transformer parameter is (decides its initialization). */
export type Role = 'embedding' | 'weight' | 'bias' | 'ln-weight' | 'ln-bias';

/** A parameter with what the initializer needs. */
export interface TransformerParam extends ParamSpec {
  readonly role: Role;
  readonly fanIn: number;
}

export interface TransformerModel {
  readonly config: Required<TransformerConfig>;
  readonly params: readonly TransformerParam[];
  readonly layout: ParameterLayout;
  /** Logits [B·T, V] (row b·T + t predicts the token after position t of sequence b) from x [B, T] int64. */
  forward(p: Record<string, Tensor>, x: Tensor): Tensor;
  /** Seeded initialization: a flat float64 vector in the layout's order. */
  init(rng: Rng): Float64Array;
}

/** Fills defaults and validates; errors name the key. */
export function resolveTransformerConfig(c: TransformerConfig): Required<TransformerConfig> {
  const posInt = (k: keyof TransformerConfig, v: unknown) => {
    if (!(Number.isInteger(v) && (v as number) >= 1))
      throw new Error(`transformer.${k}: must be an integer >= 1 (got ${String(v)})`);
  };
  for (const k of ['vocab', 'context', 'dModel', 'heads', 'layers'] as const) posInt(k, c[k]);
  const dFF = c.dFF ?? 4 * c.dModel;
  posInt('dFF', dFF);
  if (c.dModel % c.heads !== 0)
    throw new Error(`transformer.dModel (${c.dModel}) must be a multiple of transformer.heads (${c.heads})`);
  if (!(LN_PLACEMENTS as readonly string[]).includes(c.norm))
    throw new Error(`transformer.norm: must be one of ${LN_PLACEMENTS.join(', ')} (got ${String(c.norm)})`);
  const initScale = c.initScale ?? 1;
  if (!(Number.isFinite(initScale) && initScale >= 0))
    throw new Error(`transformer.initScale must be a number >= 0 (got ${initScale})`);
  return {
    vocab: c.vocab,
    context: c.context,
    dModel: c.dModel,
    heads: c.heads,
    layers: c.layers,
    dFF,
    norm: c.norm,
    initScale,
  };
}

/** LayerNorm over the last axis of x (any rank); γ, β [d]. */
export function layerNormLastAxis(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const ax = x.rank - 1;
  const mu = o.mean(x, [ax], true);
  const c = o.sub(x, mu);
  const v = o.mean(o.mul(c, c), [ax], true);
  return o.add(o.mul(o.mul(c, o.rsqrt(o.add(v, eps))), weight), bias);
}

/** Dense layer on rows: x [N, in] · Wᵀ + b with W [out, in] → [N, out]. */
function dense(x: Tensor, w: Tensor, b: Tensor): Tensor {
  return o.add(o.matmul(x, w, false, true), b);
}

/** Builds the model for `config` (see the module comment for the architecture and names). */
export function buildTransformer(config: TransformerConfig): TransformerModel {
  const c = resolveTransformerConfig(config);
  const { vocab: V, context: T, dModel: d, heads: H, layers: L, dFF: F } = c;
  const dh = d / H;
  const params: TransformerParam[] = [];
  const add = (name: string, shape: number[], role: Role, fanIn = 1) => params.push({ name, shape, role, fanIn });
  const ln = (name: string) => {
    add(`${name}.weight`, [d], 'ln-weight');
    add(`${name}.bias`, [d], 'ln-bias');
  };
  add('tok.weight', [V, d], 'embedding');
  add('pos.weight', [T, d], 'embedding');
  for (let i = 0; i < L; i++) {
    const h = `h${i}`;
    ln(`${h}.ln1`);
    add(`${h}.attn.qkv.weight`, [3 * d, d], 'weight', d);
    add(`${h}.attn.qkv.bias`, [3 * d], 'bias');
    add(`${h}.attn.proj.weight`, [d, d], 'weight', d);
    add(`${h}.attn.proj.bias`, [d], 'bias');
    ln(`${h}.ln2`);
    add(`${h}.mlp.fc1.weight`, [F, d], 'weight', d);
    add(`${h}.mlp.fc1.bias`, [F], 'bias');
    add(`${h}.mlp.fc2.weight`, [d, F], 'weight', F);
    add(`${h}.mlp.fc2.bias`, [d], 'bias');
  }
  if (c.norm === 'pre') ln('ln_f');
  add('head.weight', [V, d], 'weight', d);
  add('head.bias', [V], 'bias');
  const layout = new ParameterLayout(params);

  const attention = (p: Record<string, Tensor>, h: string, x: Tensor, B: number): Tensor => {
    // x [B, T, d] → rows [B·T, d] → q, k, v [B·H, T, dh].
    const qkv = dense(o.reshape(x, [B * T, d]), p[`${h}.attn.qkv.weight`]!, p[`${h}.attn.qkv.bias`]!);
    const heads = (part: number) =>
      o.reshape(o.transpose(o.reshape(o.slice(qkv, 1, part * d, (part + 1) * d), [B, T, H, dh]), [0, 2, 1, 3]), [
        B * H,
        T,
        dh,
      ]);
    const q = heads(0);
    const k = heads(1);
    const v = heads(2);
    const mask = new Float64Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e9;
    const scores = o.add(
      o.mul(o.matmul(q, k, false, true), 1 / Math.sqrt(dh)),
      x.builder.constant(mask, [T, T], x.dtype),
    );
    const att = o.matmul(o.softmax(scores, -1), v); // [B·H, T, dh]
    const merged = o.reshape(o.transpose(o.reshape(att, [B, H, T, dh]), [0, 2, 1, 3]), [B * T, d]);
    return o.reshape(dense(merged, p[`${h}.attn.proj.weight`]!, p[`${h}.attn.proj.bias`]!), [B, T, d]);
  };
  const mlp = (p: Record<string, Tensor>, h: string, x: Tensor, B: number): Tensor => {
    const a = o.gelu(dense(o.reshape(x, [B * T, d]), p[`${h}.mlp.fc1.weight`]!, p[`${h}.mlp.fc1.bias`]!));
    return o.reshape(dense(a, p[`${h}.mlp.fc2.weight`]!, p[`${h}.mlp.fc2.bias`]!), [B, T, d]);
  };
  const norm = (p: Record<string, Tensor>, name: string, x: Tensor) =>
    layerNormLastAxis(x, p[`${name}.weight`]!, p[`${name}.bias`]!);

  return {
    config: c,
    params,
    layout,
    forward(p, x) {
      if (x.rank !== 2 || x.shape[1] !== T)
        throw new Error(`transformer: input must be [B, ${T}] token indices, got [${x.shape}]`);
      const B = x.shape[0]!;
      let h = o.add(o.gather(p['tok.weight']!, x), p['pos.weight']!);
      for (let i = 0; i < L; i++) {
        const b = `h${i}`;
        if (c.norm === 'pre') {
          h = o.add(h, attention(p, b, norm(p, `${b}.ln1`, h), B));
          h = o.add(h, mlp(p, b, norm(p, `${b}.ln2`, h), B));
        } else {
          h = norm(p, `${b}.ln1`, o.add(h, attention(p, b, h, B)));
          h = norm(p, `${b}.ln2`, o.add(h, mlp(p, b, h, B)));
        }
      }
      if (c.norm === 'pre') h = norm(p, 'ln_f', h);
      return dense(o.reshape(h, [B * T, d]), p['head.weight']!, p['head.bias']!);
    },
    init(rng) {
      const theta = new Float64Array(layout.size);
      for (const prm of params) {
        const view = layout.view(theta, prm.name);
        if (prm.role === 'embedding') for (let i = 0; i < view.length; i++) view[i] = rng.normal();
        else if (prm.role === 'weight') {
          const std = c.initScale / Math.sqrt(prm.fanIn);
          for (let i = 0; i < view.length; i++) view[i] = std * rng.normal();
        } else if (prm.role === 'ln-weight') view.fill(1);
      }
      return theta;
    },
  };
}

/**
 * Next-character cross-entropy (mean over the B·T predictions) and accuracy for chunks of B
 * windows: data x [B, T] (int64 token indices) and y [B·T, V] (one-hot next tokens).
 */
export function transformerObjective(
  model: TransformerModel,
  batch: number,
  dtype: 'float32' | 'float64' = 'float32',
): ObjectiveSpec {
  const { context: T, vocab: V } = model.config;
  return {
    params: model.params,
    data: [
      { name: 'x', shape: [batch, T], dtype: 'int64' },
      { name: 'y', shape: [batch * T, V] },
    ],
    dtype,
    loss(p, d) {
      const logits = model.forward(p, d.x!);
      return { loss: crossEntropy(logits, d.y!), metrics: { accuracy: accuracy(logits, d.y!) } };
    },
    outputs: {
      output: (p, d) => model.forward(p, d.x!),
      outputLoss: (logits, d) => crossEntropy(logits, d.y!),
    },
  };
}

/** Character windows of a text: inputs x [n, T] and one-hot next characters y [n·T, V]. */
export interface CharWindows {
  /** The vocabulary: sorted distinct characters of the text. */
  readonly vocab: string[];
  readonly n: number;
  readonly context: number;
  /** Token indices (integers stored as floats, the row layout DatasetObjective chunks), n·T. */
  readonly x: Float32Array;
  /** One-hot targets, n·T·V. */
  readonly y: Float32Array;
}

/**
 * Windows of T + 1 consecutive characters starting every `stride` characters (at most
 * `maxWindows`, evenly spread over the text when there are more): x = the first T, y = the
 * last T (shifted by one). The vocabulary is the text's sorted distinct characters.
 */
export function charWindows(
  text: string,
  context: number,
  o: { stride?: number; maxWindows?: number } = {},
): CharWindows {
  const vocab = [...new Set(text)].sort();
  const index = new Map(vocab.map((ch, i) => [ch, i]));
  const stride = o.stride ?? context;
  if (!(Number.isInteger(context) && context >= 1)) throw new Error(`context must be an integer >= 1 (got ${context})`);
  if (!(Number.isInteger(stride) && stride >= 1)) throw new Error(`stride must be an integer >= 1 (got ${stride})`);
  const starts: number[] = [];
  for (let s = 0; s + context + 1 <= text.length; s += stride) starts.push(s);
  if (starts.length === 0)
    throw new Error(`text of ${text.length} characters is shorter than context + 1 = ${context + 1}`);
  const max = o.maxWindows ?? starts.length;
  const chosen =
    starts.length <= max
      ? starts
      : Array.from({ length: max }, (_, i) => starts[Math.floor((i * starts.length) / max)]!);
  const V = vocab.length;
  const n = chosen.length;
  const x = new Float32Array(n * context);
  const y = new Float32Array(n * context * V);
  chosen.forEach((s, w) => {
    for (let t = 0; t < context; t++) {
      x[w * context + t] = index.get(text[s + t]!)!;
      y[(w * context + t) * V + index.get(text[s + t + 1]!)!] = 1;
    }
  });
  return { vocab, n, context, x, y };
}
