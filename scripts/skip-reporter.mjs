// A node:test reporter that writes one JSON line per skipped test ({name, file, reason});
// scripts/test.mjs points it at a file and prints the summary after the run.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' || !event.data.skip) continue;
    const { name, file, skip } = event.data;
    yield `${JSON.stringify({ name, file: file ?? null, reason: typeof skip === 'string' ? skip : null })}\n`;
  }
}
