/** `edgewise bench` takes the options of `npm run bench` (parsed only: nothing is benchmarked here). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram } from '../../src/cli/main.ts';
import { commandBench } from '../../src/cli/bench.ts';

async function parsed(args: string[]): Promise<Record<string, unknown>> {
  const program = buildProgram();
  let got: Record<string, unknown> = {};
  const bench = program.commands.find((c) => c.name() === 'bench')!;
  bench.configureOutput({ writeErr: () => {} }).action((o: Record<string, unknown>) => {
    got = o;
  });
  await program.parseAsync(['node', 'edgewise', 'bench', ...args]);
  return got;
}

test('bench parses --only (repeatable), --pairs, --eos-steps, --peer cpu|cuda and --no-peer', async () => {
  assert.deepEqual(await parsed([]), { backend: 'ort', only: [] });
  assert.deepEqual(await parsed(['--peer', 'cuda', '--backend', 'webgpu']), {
    backend: 'webgpu',
    only: [],
    peer: 'cuda',
  });
  assert.equal((await parsed(['--no-peer'])).peer, false);
  assert.deepEqual(
    await parsed(['--only', 'W1,W4', '--only', 'gemm', '--pairs', '3', '--eos-steps', '50', '--out', 'x.json']),
    {
      backend: 'ort',
      only: ['W1,W4', 'gemm'],
      pairs: '3',
      eosSteps: '50',
      out: 'x.json',
    },
  );
  await assert.rejects(parsed(['--peer', 'tpu']), /peer/);
});

test('bench rejects bad values before running anything', async () => {
  await assert.rejects(
    commandBench({ only: ['W1,W9'] }),
    (e: Error) => e.name === 'UsageError' && /W9/.test(e.message),
  );
  await assert.rejects(commandBench({ pairs: '0' }), /--pairs must be a positive integer/);
  await assert.rejects(commandBench({ eosSteps: '2.5' }), /--eos-steps must be a positive integer/);
  await assert.rejects(commandBench({ peer: 'tpu' }), /--peer must be cpu or cuda/);
});
