/** `edgewise report DIR`. */
import { mustExist } from './util.ts';

export async function commandReport(dir: string): Promise<void> {
  const { writeReport } = await import('../report/report.ts');
  const r = await writeReport(mustExist(dir, 'directory'));
  process.stdout.write(`report: ${r.html}\n`);
}
