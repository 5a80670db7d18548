/**
 * The `edgewise` command line. Each subcommand is a thin layer over the experiments API;
 * errors are one line (`edgewise: …`) with a non-zero exit code, never a stack trace
 * (set EDGEWISE_DEBUG=1 to see one).
 */
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { UsageError } from './util.ts';
import { commandTrain } from './train.ts';
import { commandReport } from './report.ts';
import { commandDemo } from './demo.ts';
import { commandBench, type BenchCommandOptions } from './bench.ts';
import { commandCurvature } from './curvature.ts';
import { commandResults } from './results.ts';
import { commandReproduce } from './reproduce.ts';
import { commandSweep } from './sweep.ts';
import { commandServe } from './serve.ts';
import { commandMaxLr } from './maxLr.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function buildProgram(): Command {
  const program = new Command('edgewise')
    .description(
      'A laboratory for loss curvature and training instability: exact Hessian-vector products, Lanczos, GD/SGD/Adam at the edge of stability.',
    )
    .version(pkg.version)
    .showHelpAfterError('(run edgewise --help for usage)')
    .exitOverride();

  program
    .command('train')
    .description(
      'Train one run from a YAML/JSON config (defaults: fc-tanh MLP on the embedded MNIST digits, GD) and write its run directory.',
    )
    .argument('[config]', 'config file (.yaml, .yml or .json); omitted = all defaults')
    .option('--set <key=value>', 'override a config key, e.g. --set optimizer.lr=0.1 (repeatable)', collect, [])
    .option('--out <dir>', 'run directory (default: runs/<config name>-<time>)')
    .option('--resume', 'continue the interrupted run in --out from its last resume state')
    .option('--quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Examples:
  edgewise train                                   # defaults: GD, lr 0.05, MNIST digits
  edgewise train eos.yaml --set optimizer.lr=0.02 --out runs/lr0.02
  edgewise train --out runs/lr0.02 --resume        # after an interruption

The run directory holds config.json, metrics.jsonl (one row per logged step), summary.json
(status completed | diverged | failed) and checkpoints/ (safetensors).`,
    )
    .action(
      async (config: string | undefined, o: { set: string[]; out?: string; resume?: boolean; quiet?: boolean }) => {
        await commandTrain(config, o);
      },
    );

  program
    .command('sweep')
    .description(
      'Run a sweep file (base: config + grid: key → values) in parallel child processes, skipping finished runs; writes a report at the end.',
    )
    .argument('<sweep>', 'sweep file (.yaml or .json) with base: and grid:')
    .option('--out <dir>', 'sweep directory (default: runs/<sweep name>)')
    .option('--shard <I/N>', 'run only the runs whose index ≡ I (mod N), 0-based (for job arrays)')
    .option(
      '--shard-from-env',
      'take the shard from JOB_COMPLETION_INDEX (Kubernetes, with EDGEWISE_SHARD_COUNT) or SLURM_ARRAY_TASK_ID/COUNT (Slurm)',
    )
    .option('--parallel <n>', 'runs at once on this machine (default: the CPUs available)')
    .option('--status', 'only print how many runs are done, running, diverged, failed, missing')
    .option('--no-report', 'do not write the sweep report when all runs are finished')
    .addHelpText(
      'after',
      `
Example sweep file:
  base: {optimizer: {name: gd}, train: {steps: 1000}}
  grid:
    optimizer.lr: [0.01, 0.02, 0.04]
    train.seed: [0, 1]
Runs are the cartesian product in a fixed order, each in a directory named after its values.
Several workers (e.g. a Kubernetes Indexed Job or a Slurm array, see deploy/) can share one
--out directory: a lock file with a heartbeat makes sure no run is done twice.`,
    )
    .action(async (file: string, o: Record<string, unknown>) => {
      await commandSweep(file, o as never);
    });

  program
    .command('curvature')
    .description(
      'Full curvature analysis of a saved checkpoint: top-k eigenpairs, λmin, trace, spectral density, loss slices.',
    )
    .argument('<run_dir>', 'a run directory')
    .option('--step <n>', 'checkpoint step (default: the latest)')
    .option('--top-k <k>', 'eigenpairs', '5')
    .option('--iters <n>', 'Lanczos steps', '40')
    .option('--ggn', 'also the Gauss–Newton matrix G = Jᵀ∇²ℓJ: its top-k eigenvalues and trace')
    .action(async (dir: string, o: { step?: string; topK: string; iters: string; ggn?: boolean }) => {
      await commandCurvature(dir, o);
    });

  program
    .command('report')
    .description('Write a static HTML report (SVG and PNG figures, CSV) for a run or a sweep directory.')
    .argument('<dir>', 'run or sweep directory')
    .action(async (dir: string) => {
      await commandReport(dir);
    });

  program
    .command('reproduce')
    .description(
      'Run a named study (a sweep shipped in studies/) and write its claims table (held / did not hold / inconclusive) and report.',
    )
    .argument(
      '<name>',
      'study name, e.g. eos-gd, eos-adam, rotation, toy-depth, depth-rotation, flatness-lr, sgd-batch, adam-clipped, warmup, warmup-resnet, interventions, interventions-resnet, catapult',
    )
    .option('--quick', 'the reduced version (smaller subset, fewer steps)')
    .option(
      '--seeds <n>',
      "run seeds 0..N-1 instead of the study's own (its train.seed grids and max-lr seed count), e.g. --quick --seeds 3 for a reduced scale with confidence intervals",
    )
    .option('--out <dir>', 'output directory (default: runs/<name>[-quick])')
    .option('--parallel <n>', 'runs at once (default: cores)')
    .option(
      '--status',
      "print the state of the study's runs in the output directory (as edgewise sweep --status) and exit",
    )
    .option(
      '--shard <i/n>',
      'grid studies: run only shard I of N (0-based) into the shared --out; the last worker to finish evaluates',
    )
    .action(
      async (
        name: string,
        o: { quick?: boolean; out?: string; parallel?: string; status?: boolean; shard?: string; seeds?: string },
      ) => {
        await commandReproduce(name, o);
      },
    );

  program
    .command('results')
    .description(
      'Write the results document (claims tables and study figures of every study directory given, with date, command, machine and run time).',
    )
    .argument('[dirs...]', 'study output directories, or directories holding them', ['runs'])
    .option('--out <file>', 'Markdown file to write', 'docs/results.md')
    .option(
      '--discussion <file>',
      'YAML file mapping study names to Markdown written by people (e.g. why an outcome differs from the paper), shown under each study',
    )
    .action((dirs: string[], o: { out: string; discussion?: string }) => {
      commandResults(dirs, o);
    });

  program
    .command('serve')
    .description('Serve the live dashboard (run list, curves with the 2/η line, sweeps) over the runs under DIR.')
    .argument('[dir]', 'directory of runs and sweeps', 'runs')
    .option('--port <p>', 'port (0 = any free port)', '6070')
    .option('--host <h>', 'interface to bind (default: this machine only)', '127.0.0.1')
    .action(async (dir: string, o: { port: string; host: string }) => {
      await commandServe(dir, o);
    });

  program
    .command('max-lr')
    .description(
      'Find the largest stable learning rate (the run neither diverges nor collapses to a constant predictor within train.steps), and the largest that reaches the target loss/accuracy, for a config and for remedies applied on top of it.',
    )
    .argument('[config]', 'config file (.yaml or .json); omitted = all defaults')
    .option(
      '--variants <list>',
      'remedies, comma-separated or repeated: none, warmup[-N], clip[-X], batchnorm, layernorm, fixup, metainit, gradinit, init-scale-X',
      collect,
      [],
    )
    .option('--set <key=value>', 'override a config key (repeatable)', collect, [])
    .option('--out <dir>', 'output directory (default: runs/max-lr-<config name>)')
    .option('--seeds <n>', 'seeds per learning rate')
    .option('--rule <rule>', 'how seeds decide stability: all | majority')
    .option('--lo <eta>', 'smallest learning rate of the search grid')
    .option('--hi <eta>', 'largest learning rate of the search grid')
    .option('--grid <factor>', 'ratio between grid points')
    .option('--bisect <n>', 'bisection steps after bracketing')
    .option('--parallel <n>', 'trials at once (default: cores)')
    .option('--stop-loss <x>', 'target train loss')
    .option('--stop-acc <x>', 'target train accuracy')
    .option('--stop-at-target', 'stop each trial at its target (faster)')
    .option('--full-grid', 'try every grid point down to --lo, also below a stable one (fitting speed of smaller η)')
    .option('--early-curvature <steps>', 'also track λ1·η densely over the first steps at each max stable η')
    .option('--quiet', 'no per-trial lines')
    .action(async (config: string | undefined, o: Record<string, unknown>) => {
      await commandMaxLr(config, o as never);
    });

  program
    .command('bench')
    .description(
      'Benchmark the engine and curvature against PyTorch (when python3-torch is installed); writes bench/results/latest.json (gpu-latest.json in GPU mode).',
    )
    .option('--quick', 'fewer pairs, smaller scaling grid')
    .addOption(
      new Option(
        '--peer <device>',
        'device of the peers: cpu (default) or cuda (PyTorch on CUDA, plus JAX if importable)',
      ).choices(['cpu', 'cuda']),
    )
    .option('--no-peer', 'skip the PyTorch peer (Edgewise only)')
    .addOption(new Option('--threads <n>', 'onnxruntime (and peer) threads (default: cores)'))
    .addOption(new Option('--backend <name>', 'backend of the Edgewise side').choices(['ort', 'webgpu']).default('ort'))
    .addOption(
      new Option('--only <list>', 'workloads to run, comma-separated or repeated: W1 W2 W3 W4 GEMM scaling')
        .argParser(collect)
        .default([], 'all'),
    )
    .option('--measures <list>', 'time only these measures, comma-separated (e.g. sharpness,ggn_sharpness)')
    .option('--pairs <n>', 'alternated Edgewise/peer pairs per measure (default 5, --quick 3; W4: 3, --quick 1)')
    .option('--eos-steps <n>', 'GD steps of W4 (default 1000; fewer only for a smoke test)')
    .option('--out <file>', 'results file (default bench/results/latest.json, gpu-latest.json in GPU mode)')
    .option(
      '--profile <dir>',
      "record onnxruntime's per-operator profile of Edgewise's graphs into <dir> and print where each graph's time goes (slows the runs it profiles)",
    )
    .addHelpText(
      'after',
      `
Examples:
  edgewise bench --only W1,W4 --pairs 3             # two workloads, three alternated pairs each
  edgewise bench --only W1 --no-peer --pairs 1 --profile prof   # where W1's time goes, per operator
  edgewise bench --backend webgpu --peer cuda       # Edgewise on WebGPU vs PyTorch (and JAX) on CUDA
  edgewise bench --quick --no-peer                  # a first look, Edgewise only`,
    )
    .action(async (o: BenchCommandOptions) => {
      await commandBench(o);
    });

  program
    .command('demo')
    .description(
      'The edge of stability in a few minutes: GD on the embedded MNIST digits at one learning rate below and one above the threshold, with a report.',
    )
    .option('--out <dir>', 'output directory', 'runs/demo')
    .option('--steps <n>', 'GD steps per run', '1000')
    .action(async (o: { out: string; steps: string }) => {
      await commandDemo(o);
    });

  return program;
}

export async function main(argv = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`edgewise: ${msg.split('\n')[0]}\n`);
    if (process.env.EDGEWISE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    const user = err instanceof UsageError || (err instanceof Error && /^(ConfigError|UsageError)$/.test(err.name));
    return user ? 2 : 1;
  }
}
