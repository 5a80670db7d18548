/** Reports of runs and sweeps: data loading, Vega-Lite figure specs, rendering, HTML. */
export { writeReport, type ReportOptions, type ReportResult } from './report.ts';
export * from './figures.ts';
export * from './data.ts';
export { specToSvg, svgToPng, pngSize, svgSize, namespaceSvgIds, toVega, type PngOptions } from './render.ts';
export { lineChart, decimate, FIGURE_WIDTH, FIGURE_HEIGHT, type VlSpec, type XY, type Series } from './spec.ts';
