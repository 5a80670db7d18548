/**
 * Where a graph's time goes, from onnxruntime's profiles (Runtime option `profile`, bench
 * --profile): per graph, the time per run, and per operator (host-side kernel time, by
 * execution provider) and per GPU shader (webgpu: timestamps taken on the device) the calls
 * and the time per run, largest first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/** An operator or GPU shader of one graph: calls and microseconds per run. */
export interface ProfileRow {
  /** 'node': host-side kernel time of an ONNX node; 'gpu': a WebGPU shader's time on the device. */
  readonly kind: 'node' | 'gpu';
  /** The ONNX operator (op_name), or the shader's name. */
  readonly name: string;
  /** Execution provider of the node ('' for GPU shaders). */
  readonly provider: string;
  readonly callsPerRun: number;
  readonly usPerRun: number;
}

/** One graph's profile. */
export interface GraphProfile {
  /** The file's graph name, e.g. 'hvp-3'. */
  readonly graph: string;
  readonly file: string;
  /** Runs recorded (session.run calls). */
  readonly runs: number;
  /** Mean wall time of a run, µs (onnxruntime's model_run). */
  readonly usPerRun: number;
  readonly rows: readonly ProfileRow[];
}

interface TraceEvent {
  cat?: string;
  name: string;
  dur?: number;
  args?: { op_name?: string; provider?: string };
}

/** Parses one onnxruntime profile (a JSON array of Chrome trace events). */
export function parseProfile(file: string, text: string): GraphProfile {
  let events: TraceEvent[];
  try {
    events = JSON.parse(text) as TraceEvent[];
  } catch (e) {
    throw new Error(`profile ${file}: not JSON (${(e as Error).message})`, { cause: e });
  }
  if (!Array.isArray(events)) throw new Error(`profile ${file}: expected a JSON array of trace events`);
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const n = Math.max(1, runs.length);
  const groups = new Map<string, { kind: 'node' | 'gpu'; name: string; provider: string; calls: number; us: number }>();
  const add = (kind: 'node' | 'gpu', name: string, provider: string, us: number) => {
    const key = `${kind}|${name}|${provider}`;
    const g = groups.get(key) ?? { kind, name, provider, calls: 0, us: 0 };
    g.calls++;
    g.us += us;
    groups.set(key, g);
  };
  for (const e of events) {
    if (e.cat === 'Node' && e.name.endsWith('_kernel_time'))
      add('node', e.args?.op_name ?? e.name, e.args?.provider ?? '', e.dur ?? 0);
    else if (e.cat === 'Api') add('gpu', e.name, '', e.dur ?? 0);
  }
  const rows = [...groups.values()]
    .map((g) => ({ kind: g.kind, name: g.name, provider: g.provider, callsPerRun: g.calls / n, usPerRun: g.us / n }))
    .sort((a, b) => b.usPerRun - a.usPerRun);
  const graph = basename(file)
    .replace(/_\d{4}-\d\d-\d\d_[\d-]+_?\d*\.json$/, '')
    .replace(/\.json$/, '');
  return {
    graph,
    file,
    runs: runs.length,
    usPerRun: runs.reduce((s, e) => s + (e.dur ?? 0), 0) / n,
    rows,
  };
}

/** Every profile (*.json) in `dir`, largest time per run first. */
export function readProfiles(dir: string): GraphProfile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => parseProfile(join(dir, f), readFileSync(join(dir, f), 'utf8')))
    .filter((p) => p.runs > 0)
    .sort((a, b) => b.usPerRun * b.runs - a.usPerRun * a.runs);
}

const ms = (us: number): string => (us / 1000).toFixed(3).padStart(9);

/**
 * A text table per graph: time per run, then the `top` largest operators and shaders with their
 * share of a run; first, all graphs' runs together (to set against the wall time of the work:
 * the rest was spent outside onnxruntime).
 */
export function formatProfiles(profiles: readonly GraphProfile[], top = 12): string {
  const runs = profiles.reduce((s, p) => s + p.runs, 0);
  const total = profiles.reduce((s, p) => s + p.runs * p.usPerRun, 0);
  const lines: string[] = [`all graphs: ${runs} runs, ${(total / 1000).toFixed(1)} ms inside onnxruntime`];
  for (const p of profiles) {
    lines.push(`${p.graph}: ${p.runs} runs, ${(p.usPerRun / 1000).toFixed(3)} ms per run`);
    const nodeUs = p.rows.filter((r) => r.kind === 'node').reduce((s, r) => s + r.usPerRun, 0);
    const gpuUs = p.rows.filter((r) => r.kind === 'gpu').reduce((s, r) => s + r.usPerRun, 0);
    lines.push(
      `  kernels (host side) ${ms(nodeUs).trim()} ms per run` +
        (gpuUs > 0 ? `, GPU shaders ${ms(gpuUs).trim()} ms per run` : '') +
        `; outside kernels ${ms(Math.max(0, p.usPerRun - nodeUs)).trim()} ms`,
    );
    lines.push(
      `  ${'kind'.padEnd(5)} ${'operator / shader'.padEnd(32)} ${'provider'.padEnd(26)} calls/run   ms/run  share`,
    );
    for (const r of p.rows.slice(0, top)) {
      const share = p.usPerRun > 0 ? `${((100 * r.usPerRun) / p.usPerRun).toFixed(1)} %` : '';
      lines.push(
        `  ${r.kind.padEnd(5)} ${r.name.slice(0, 32).padEnd(32)} ${r.provider.slice(0, 26).padEnd(26)} ${r.callsPerRun.toFixed(1).padStart(9)} ${ms(r.usPerRun)} ${share.padStart(6)}`,
      );
    }
  }
  return lines.join('\n');
}
