/**
 * Rendering specs in Node without a canvas: Vega-Lite → Vega (vega-lite compile), Vega → SVG
 * string (a headless vega View, renderer 'none'), SVG → PNG (resvg, with the system fonts).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { VlSpec } from './spec.ts';

/** Compiles a Vega-Lite spec to Vega (throws on an invalid spec; warnings are dropped). */
export function toVega(spec: VlSpec): vega.Spec {
  // Vega-Lite would print warnings (e.g. non-positive values on a log scale) to the console.
  return compile(spec, { logger: vega.logger(vega.None) }).spec as vega.Spec;
}

/** Renders a Vega-Lite spec to an SVG document string (width × height in CSS pixels). */
export async function specToSvg(spec: VlSpec): Promise<string> {
  const view = new vega.View(vega.parse(toVega(spec)), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Prefixes every id in an SVG (clip paths, gradients) and the references to them, so several
 * SVGs inlined in one HTML page cannot pick up each other's definitions.
 */
export function namespaceSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${prefix}-${id})`)
    .replace(/\bhref="#([^"]+)"/g, (_, id: string) => `href="#${prefix}-${id}"`);
}

/** Width and height of an SVG document's root element (CSS pixels), or null if absent. */
export function svgSize(svg: string): { width: number; height: number } | null {
  const m = /<svg\b[^>]*>/.exec(svg);
  if (m === null) return null;
  const w = /\bwidth="([\d.]+)"/.exec(m[0]);
  const h = /\bheight="([\d.]+)"/.exec(m[0]);
  return w && h ? { width: Number(w[1]), height: Number(h[1]) } : null;
}

export interface PngOptions {
  /** Pixels per CSS pixel (default 2: a 720×300 figure becomes 1440×600). */
  readonly scale?: number;
}

// resvg can abort the whole process with a native panic on some Vega outputs (not an exception),
// so rasterization runs in a short-lived child process: a crash there becomes a catchable error
// and the report keeps the figure as SVG.
const RASTERIZE = `
const { Resvg } = require(process.argv[1]);
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const { svg, opts } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  process.stdout.write(new Resvg(svg, opts).render().asPng());
});`;
const RESVG_PATH = createRequire(import.meta.url).resolve('@resvg/resvg-js');

/** Rasterizes an SVG string to PNG bytes (size = SVG size × scale, rounded); throws if resvg fails. */
export function svgToPng(svg: string, o: PngOptions = {}): Buffer {
  const scale = o.scale ?? 2;
  const size = svgSize(svg);
  const fitTo =
    size === null || scale === 1
      ? ({ mode: 'original' } as const)
      : ({ mode: 'width', value: Math.round(size.width * scale) } as const);
  // Vega draws empty group backgrounds as zero-size paths (d="M0,0h0v0h0Z"); they are invisible.
  const safe = svg.replace(/<path\b[^>]*\bd="M0,0h0v0h0Z"[^>]*\/>/g, '');
  const opts = {
    fitTo,
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  };
  const r = spawnSync(process.execPath, ['-e', RASTERIZE, RESVG_PATH], {
    input: JSON.stringify({ svg: safe, opts }),
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0 || r.stdout.length === 0) {
    const why =
      r.stderr
        ?.toString('utf8')
        .split('\n')
        .find((l) => /panicked|Error/.test(l)) ?? `exit ${r.status ?? r.signal}`;
    throw new Error(`resvg could not rasterize the figure (${why.trim().slice(0, 160)})`);
  }
  return r.stdout;
}

/** Width and height of a PNG from its IHDR chunk (throws if the bytes are not a PNG). */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || sig.some((b, i) => png[i] !== b)) throw new Error('not a PNG (bad signature)');
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}
