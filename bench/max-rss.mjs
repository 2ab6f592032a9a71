// Preloaded with `node --import` by bench/parse.ts: when the process exits, writes its peak resident set size
// (KiB, from getrusage) to the file named by BENCH_MAX_RSS_FILE. The variable is removed at once, so a child
// process the command starts does not overwrite the figure with its own.
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_MAX_RSS_FILE;
delete process.env.BENCH_MAX_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
