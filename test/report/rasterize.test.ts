/** A figure that makes resvg panic natively must cost only its PNG, not the process. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { svgToPng, pngSize } from '../../src/report/render.ts';

it('a resvg panic becomes a catchable error; ordinary SVGs still rasterize', () => {
  const bad = readFileSync(new URL('./fixtures/resvg-panic.svg', import.meta.url), 'utf8');
  assert.throws(() => svgToPng(bad), /resvg could not rasterize/);
  const png = svgToPng(
    '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50"><rect width="10" height="10"/></svg>',
  );
  assert.deepEqual(pngSize(png), { width: 200, height: 100 }, 'scale 2 by default');
});
