/**
 * dynalite in a process of its own, for bench/governance.ts: DynamoDB's side of a benchmark that makes
 * 100,000 calls then runs on the second core instead of sharing the benchmark's (about a third of the
 * benchmark's CPU time). It counts the requests it receives by operation (`x-amz-target`), retries
 * included, and answers the parent's "counts" message with them (and starts counting afresh).
 */
import dynalite from 'dynalite';

const counts = new Map();
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.on('request', (req) => {
  const op = String(req.headers['x-amz-target'] ?? 'unknown')
    .split('.')
    .pop();
  counts.set(op, (counts.get(op) ?? 0) + 1);
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('message', (message) => {
  if (message !== 'counts') return;
  process.send?.({ counts: Object.fromEntries(counts) });
  counts.clear();
});
// The parent is gone (finished, or killed): nothing else would end this process.
process.on('disconnect', () => process.exit(0));
