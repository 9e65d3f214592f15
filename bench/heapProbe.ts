/**
 * Preloaded into a benchmark's host process (`NODE_OPTIONS=--expose-gc --require dist/bench/heapProbe.js`): forces a
 * full GC every 2 s and writes the largest live heap and RSS seen so far to LONGHAUL_BENCH_HEAP_FILE. It separates
 * what the host needs from what V8's lazy collection lets the heap grow to on a machine with memory to spare.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.LONGHAUL_BENCH_HEAP_FILE;
const gc = (globalThis as { gc?: () => void }).gc;
// Only the host itself: processes it starts inherit NODE_OPTIONS but not this setting.
delete process.env.LONGHAUL_BENCH_HEAP_FILE;
if (file && gc) {
  let liveMb = 0;
  let rssMb = 0;
  const sample = (): void => {
    gc();
    const m = process.memoryUsage();
    liveMb = Math.max(liveMb, m.heapUsed / 2 ** 20);
    rssMb = Math.max(rssMb, m.rss / 2 ** 20);
    writeFileSync(file, JSON.stringify({ liveMb, rssMb }));
  };
  // A first sample at once, so a job shorter than the period (the smoke run's) still has a file to read.
  sample();
  setInterval(sample, 2_000).unref();
}
