import { describe, expect, it } from 'vitest';
import { type JsonSink, writeJson } from '../../cli/util.js';

/** A sink that keeps every chunk, and says "full" after each one so `writeJson` waits for `drain` each time. */
function collector(opts: { full?: boolean } = {}) {
  const chunks: string[] = [];
  const sink: JsonSink = {
    write(chunk) {
      chunks.push(chunk);
      return !opts.full;
    },
    once(_event, listener) {
      queueMicrotask(listener);
    },
  };
  return { sink, chunks, text: () => chunks.join('') };
}

const decision = (i: number) => ({
  imageDigest: `sha256:${String(i).padStart(64, '0')}`,
  imageTags: i % 3 === 0 ? [] : [`v${i}`, 'quote " and \\ and \n'],
  action: i % 2 === 0 ? 'expire' : 'keep',
  rulePriority: i % 5 === 0 ? null : i % 7,
  reasons: [`rule ${i % 7}: reason ${i}`],
  protectedBy: [],
  sizeBytes: i * 1000,
  pushedAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
  follows: i % 11 === 0 ? `sha256:${i}` : undefined,
});

describe('writeJson', () => {
  it.each([
    ['an empty object', {}],
    [
      'a plan-like object with a big array',
      {
        repository: 'r',
        decisions: Array.from({ length: 2501 }, (_, i) => decision(i)),
        summary: { images: 2501, protected: {} },
        warnings: [],
      },
    ],
    ['an array of exactly one slice', { decisions: Array.from({ length: 100 }, (_, i) => decision(i)) }],
    ['an array of one slice and one more', { decisions: Array.from({ length: 101 }, (_, i) => decision(i)) }],
    ['keys JSON.stringify leaves out', { a: undefined, b: () => 1, c: Symbol('s'), d: 1, e: undefined }],
    ['only keys it leaves out', { a: undefined }],
    [
      'nested values with toJSON',
      { at: new Date(0), nested: { at: new Date(1) }, list: [new Date(2)], n: null },
    ],
    ['an odd key', { 'a "key"\n': 1, __proto__x: [] }],
    [
      'a big array of mixed values',
      {
        items: Array.from({ length: 1500 }, (_, i) =>
          i % 4 === 0 ? undefined : i % 4 === 1 ? { i } : i % 4 === 2 ? [i, 'x'] : 'y',
        ),
      },
    ],
    ['a top-level array', [1, { a: 2 }]],
    ['a top-level string', 'text'],
    ['a top-level Date', new Date(5)],
    [
      'a class instance',
      new (class {
        x = 1;
      })(),
    ],
  ])('writes exactly JSON.stringify(value, null, 2) and a newline for %s', async (_name, value) => {
    const { sink, text } = collector();
    await writeJson(value, sink);
    expect(text()).toBe(`${JSON.stringify(value, null, 2)}\n`);
  });

  it('writes a big array a slice at a time and waits for drain after each write the stream refuses', async () => {
    const value = { decisions: Array.from({ length: 350 }, (_, i) => decision(i)) };
    const { sink, chunks, text } = collector({ full: true });
    await writeJson(value, sink);
    expect(text()).toBe(`${JSON.stringify(value, null, 2)}\n`);
    // The key and the bracket, four slices of at most 100 decisions, the closing bracket, the closing brace.
    expect(chunks).toHaveLength(7);
    expect(chunks[0]).toBe('{\n  "decisions": [\n');
    expect(chunks.at(-1)).toBe('\n}\n');
  });
});
