import { createHash } from 'node:crypto';

/**
 * A small seeded random source for fixtures and benchmarks. Generated data must be byte-identical on
 * every run and machine (fixtures are committed, benchmarks must be comparable), so `Math.random` is out.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** `n` lowercase hex characters. */
  hex(n: number): string;
}

/** mulberry32: 32 bits of state, fast, and good enough for test data (not for anything secret). */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
    hex: (n) => {
      let out = '';
      while (out.length < n)
        out += Math.floor(next() * 0x1_0000_0000)
          .toString(16)
          .padStart(8, '0');
      return out.slice(0, n);
    },
  };
}

/**
 * A realistic, deterministic `sha256:` digest for a named artifact of a data set. Hashing the name
 * (rather than drawing hex from the RNG) keeps digests stable when the mix of other artifacts changes.
 */
export function digestFor(namespace: string, name: string): string {
  return `sha256:${createHash('sha256').update(`${namespace}/${name}`).digest('hex')}`;
}
