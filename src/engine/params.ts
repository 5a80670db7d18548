/**
 * Parameters live in one flat vector with named views, so optimizers and Lanczos work on plain
 * vectors while graphs see one tensor per parameter.
 */
import type { Shape } from './ir.ts';
import { size } from './ir.ts';

export interface ParamSpec {
  readonly name: string;
  readonly shape: Shape;
}

export type FloatArray = Float32Array | Float64Array;

/** Offsets of named parameters inside a flat vector (in declaration order). */
export class ParameterLayout {
  readonly specs: readonly ParamSpec[];
  readonly offsets: readonly number[];
  /** Total number of scalars. */
  readonly size: number;
  private readonly index = new Map<string, number>();

  constructor(specs: readonly ParamSpec[]) {
    const offsets: number[] = [];
    let off = 0;
    specs.forEach((s, i) => {
      if (this.index.has(s.name)) throw new Error(`duplicate parameter name '${s.name}'`);
      this.index.set(s.name, i);
      offsets.push(off);
      off += size(s.shape);
    });
    this.specs = specs.map((s) => Object.freeze({ name: s.name, shape: Object.freeze(s.shape.slice()) }));
    this.offsets = offsets;
    this.size = off;
  }

  /** The [start, end) range of a parameter in the flat vector. */
  range(name: string): [number, number] {
    const i = this.index.get(name);
    if (i === undefined)
      throw new Error(`unknown parameter '${name}'; known: ${this.specs.map((s) => s.name).join(', ')}`);
    return [this.offsets[i]!, this.offsets[i]! + size(this.specs[i]!.shape)];
  }

  /** A view (no copy) of one parameter inside a flat vector. */
  view<T extends FloatArray>(flat: T, name: string): T {
    this.check(flat);
    const [a, b] = this.range(name);
    return flat.subarray(a, b) as T;
  }

  /** Views of every parameter, by name. */
  split<T extends FloatArray>(flat: T): Record<string, T> {
    this.check(flat);
    const out: Record<string, T> = {};
    this.specs.forEach(
      (s, i) => (out[s.name] = flat.subarray(this.offsets[i]!, this.offsets[i]! + size(s.shape)) as T),
    );
    return out;
  }

  /** Writes named pieces into a flat vector (each piece must have its parameter's size). */
  gather<T extends FloatArray>(pieces: Record<string, ArrayLike<number>>, out: T): T {
    this.check(out);
    this.specs.forEach((s, i) => {
      const p = pieces[s.name];
      if (!p) throw new Error(`missing parameter '${s.name}'`);
      if (p.length !== size(s.shape))
        throw new Error(`parameter '${s.name}' has ${p.length} values, expected ${size(s.shape)}`);
      out.set(p, this.offsets[i]!);
    });
    return out;
  }

  private check(flat: FloatArray): void {
    if (flat.length !== this.size)
      throw new Error(`flat parameter vector has ${flat.length} values, layout needs ${this.size}`);
  }
}
