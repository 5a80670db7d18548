/**
 * The npm package as a user gets it: dist/ built (`npm run build:lib`) and packed (`npm pack
 * --ignore-scripts`: its `prepare` would also rebuild web/dist, which the browser test may be
 * serving meanwhile), the tarball installed into an empty folder with production dependencies
 * only, and there the `edgewise` command (--help, a 5-step train, a 2-run sweep),
 * examples/top-eigenvalues.mjs (its Lanczos eigenvalues and Hutchinson trace against the dense
 * Hessian it also builds), and a TypeScript consumer type-checked against the shipped .d.ts
 * files. Needs the npm registry (or a warm npm cache) for the dependencies; skips when
 * `npm ping` fails.
 */
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = 'top-eigenvalues.mjs';

const ping = spawnSync('npm', ['ping'], { encoding: 'utf8', timeout: 20_000 });
const skip =
  ping.status === 0
    ? false
    : 'the npm registry is unreachable (npm ping failed): installing the packed tarball needs it';

const work = mkdtempSync(join(tmpdir(), 'edgewise-pack-'));
const app = join(work, 'app');
after(() => rmSync(work, { recursive: true, force: true }));

/** Runs a command, failing with its output when it exits non-zero. */
function run(cmd: string, args: string[], cwd: string, timeout: number): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, maxBuffer: 1 << 26 });
  const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim();
  assert.equal(
    r.status,
    0,
    `${cmd} ${args.join(' ')} in ${cwd} exited ${r.status}${r.error ? ` (${r.error.message})` : ''}:\n${out.slice(-4000)}`,
  );
  return r;
}

/** The numbers after `label:` on the output line that starts with it. */
function numbers(out: string, label: string): number[] {
  const line = out.split('\n').find((l) => l.startsWith(`${label}:`));
  assert.ok(line, `no line '${label}: …' in:\n${out}`);
  return (line.slice(label.length + 1).match(/[-+]?\d*\.?\d+(?:e[-+]?\d+)?/gi) ?? []).map(Number);
}

test(`the README's "Use it from your code" shows examples/${EXAMPLE} verbatim`, () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const example = readFileSync(join(REPO, 'examples', EXAMPLE), 'utf8');
  assert.ok(readme.includes(`\`\`\`js\n${example}\`\`\``), 'README.md holds the example in a js code block');
});

describe('the npm package, packed and installed', { skip }, () => {
  before(() => {
    const packDir = join(work, 'pack');
    mkdirSync(packDir);
    if (!existsSync(join(REPO, 'web', 'dist', 'index.html'))) run('npm', ['run', 'build:web'], REPO, 300_000);
    run('npm', ['run', 'build:lib'], REPO, 300_000);
    run('npm', ['pack', '--ignore-scripts', '--pack-destination', packDir], REPO, 120_000);
    const tgz = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
    assert.equal(tgz.length, 1, `npm pack made ${tgz.join(', ') || 'no tarball'}`);
    mkdirSync(app);
    // onnxruntime-node's install script only downloads CUDA binaries: denied, as in the README.
    const consumer = { name: 'consumer', private: true, type: 'module', allowScripts: { 'onnxruntime-node': false } };
    writeFileSync(join(app, 'package.json'), JSON.stringify(consumer));
    run(
      'npm',
      ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', join(packDir, tgz[0]!)],
      app,
      300_000,
    );
  });

  it('installs compiled code only: no TypeScript sources, no tsx, no dev dependencies', () => {
    const pkg = join(app, 'node_modules', 'edgewise');
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'bin/edgewise.js',
      'web/dist/index.html',
      'studies/eos-gd.yaml',
      `examples/${EXAMPLE}`,
    ]) {
      assert.ok(existsSync(join(pkg, f)), `${f} is in the package`);
    }
    assert.ok(!existsSync(join(pkg, 'src')), 'src/ is not shipped');
    for (const dev of ['tsx', 'typescript', 'vite', 'uplot'])
      assert.ok(!existsSync(join(app, 'node_modules', dev)), `${dev} is not installed`);
  });

  it('npx edgewise --help lists the commands', () => {
    const r = run('npx', ['edgewise', '--help'], app, 60_000);
    for (const c of ['train', 'sweep', 'curvature', 'report', 'serve', 'demo'])
      assert.match(r.stdout, new RegExp(`^\\s+${c}\\b`, 'm'), `--help lists ${c}`);
  });

  it('npx edgewise train: 5 GD steps on 200 embedded MNIST digits write a complete run directory', () => {
    writeFileSync(
      join(app, 'tiny.yaml'),
      [
        'data: {name: mnist, train_size: 200, test_size: 100}',
        'model: {arch: mlp, widths: [16]}',
        'optimizer: {name: gd, lr: 0.1}',
        'train: {steps: 5}',
        'curvature: {every: 5, top_k: 1, lanczos_iters: 5}',
        'log: {every: 1, test_every: 5}',
        '',
      ].join('\n'),
    );
    run('npx', ['edgewise', 'train', 'tiny.yaml', '--out', 'run', '--quiet'], app, 120_000);
    const dir = join(app, 'run');
    for (const f of [
      'config.json',
      'metrics.jsonl',
      'summary.json',
      'resume.safetensors',
      'checkpoints/step-000000.safetensors',
      'checkpoints/step-000005.safetensors',
    ]) {
      assert.ok(existsSync(join(dir, f)), `run/${f} exists`);
    }
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
      status: string;
      steps: number;
      final: { sharpness: number | null };
    };
    assert.equal(summary.status, 'completed');
    assert.equal(summary.steps, 5);
    const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      rows.map((r) => r.step),
      [0, 1, 2, 3, 4, 5],
    );
    assert.equal(typeof rows[5]!.sharpness, 'number', 'curvature measured at step 5');
    assert.equal(summary.final.sharpness, rows[5]!.sharpness);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
      data: { name: string; train_size: number };
    };
    assert.deepEqual([config.data.name, config.data.train_size], ['mnist', 200]);
  });

  it('npx edgewise sweep: two runs in child processes (the worker module from dist/) complete', () => {
    writeFileSync(
      join(app, 'sweep.yaml'),
      [
        'base:',
        '  data: {name: mnist, train_size: 100, test_size: 50}',
        '  model: {arch: mlp, widths: [8]}',
        '  train: {steps: 3}',
        '  curvature: {every: 0}',
        'grid:',
        '  optimizer.lr: [0.05, 0.1]',
        '',
      ].join('\n'),
    );
    run('npx', ['edgewise', 'sweep', 'sweep.yaml', '--out', 'sweep', '--parallel', '2', '--no-report'], app, 120_000);
    const dirs = readdirSync(join(app, 'sweep'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    assert.equal(dirs.length, 2, `two run directories: ${dirs.join(', ')}`);
    for (const d of dirs) {
      const summary = JSON.parse(readFileSync(join(app, 'sweep', d, 'summary.json'), 'utf8')) as {
        status: string;
        steps: number;
      };
      assert.deepEqual([summary.status, summary.steps], ['completed', 3], d);
    }
  });

  it(`examples/${EXAMPLE}: Lanczos top-3 eigenvalues and the Hutchinson trace agree with the dense float64 Hessian`, () => {
    copyFileSync(join(REPO, 'examples', EXAMPLE), join(app, EXAMPLE));
    const out = run(process.execPath, [EXAMPLE], app, 120_000).stdout;
    // The result lines, shown in the test output.
    for (const line of out.trimEnd().split('\n')) process.stdout.write(`# ${line}\n`);
    assert.deepEqual(numbers(out, 'parameters'), [49 * 8 + 8 + 8 * 10 + 10]);
    const lanczos = numbers(out, 'top-3 eigenvalues (Lanczos)');
    const residuals = numbers(out, 'residuals |Hv - λv|');
    const dense = numbers(out, 'top-3 eigenvalues (dense)');
    assert.equal(lanczos.length, 3);
    assert.equal(dense.length, 3);
    for (let i = 0; i < 3; i++) {
      // A unit Ritz vector with residual r has an eigenvalue within r (symmetric H); on top,
      // float32 HVPs on onnxruntime vs the float64 oracle: relative error ~1e-5 (6e-8 unit
      // roundoff over sums of ~500 terms), allowed as 1e-4·λ1.
      const tol = residuals[i]! + 1e-4 * Math.abs(dense[0]!);
      assert.ok(
        Math.abs(lanczos[i]! - dense[i]!) <= tol,
        `λ${i + 1}: Lanczos ${lanczos[i]} vs dense ${dense[i]} (tolerance ${tol})`,
      );
    }
    const [estimate, stdError] = numbers(out, 'trace (Hutchinson, 200 probes)');
    const [exact] = numbers(out, 'trace (dense)');
    assert.ok(stdError! > 0 && stdError! < 0.2 * Math.abs(exact!), `a meaningful standard error (${stdError})`);
    assert.ok(
      Math.abs(estimate! - exact!) <= 4 * stdError!,
      `trace: Hutchinson ${estimate} ± ${stdError} vs dense ${exact} (4 standard errors)`,
    );
  });

  it('a TypeScript consumer type-checks against the shipped declarations (root and subpath exports)', () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      `import { hessian, buildModel, type ModelHessian } from 'edgewise';
import { topEigenpairs } from 'edgewise/curvature';
import { Runtime } from 'edgewise/engine';
const model = buildModel({ arch: 'mlp', widths: [4] }, [3], 2);
export async function top(h: ModelHessian): Promise<number> {
  const r = await topEigenpairs(h, 2);
  // @ts-expect-error the declarations are real types, not any: dim is a number
  const s: string = h.dim;
  void s;
  void hessian;
  void new Runtime({ backend: 'reference' });
  return r.eigenvalues[0]! + model.layout.size;
}
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['consumer.ts'],
      }),
    );
    run(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], app, 120_000);
  });
});
