/** npm run bench: see src/bench/run.ts. Flags: --quick, --no-peer, --threads N. */
import { runBench } from '../src/bench/run.ts';

const args = process.argv.slice(2);
const ti = args.indexOf('--threads');
await runBench({ quick: args.includes('--quick'), noPeer: args.includes('--no-peer'), threads: ti >= 0 ? Number(args[ti + 1]) : undefined });
