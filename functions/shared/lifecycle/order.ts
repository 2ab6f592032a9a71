import type { Image } from './types.js';

/** Below this many images plain comparator sorts and string searches are as fast as the keys below. */
const SMALL = 512;

/** Keys stay below this: see `DigestKeys`. */
const EXACT = 2 ** 52;

/** At most this many characters after the common prefix go into a key (8 do for 100,000 hex digests). */
const WINDOW = 12;

const byDigestThenPosition =
  (digests: readonly string[]) =>
  (a: number, b: number): number => {
    const x = digests[a]!;
    const y = digests[b]!;
    return x < y ? -1 : x > y ? 1 : a - b;
  };

/**
 * A repository's images in digest order, and a digest lookup (`findDigest`): what a stable sort by digest
 * plus a digest → image map give, built for 100,000 images.
 *
 * The order is exactly that of
 * `[...images].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0))`: strings as `<`
 * compares them (UTF-16 code units), images with the same digest in input order.
 *
 * Why not sort with a comparator and build a Map: at 100,000 images the sort's 1.7 million comparator calls
 * and a map of every digest were a large share of a plan's time. Instead each digest gets a number that
 * orders like its leading characters (after the prefix all digests share, "sha256:"), packed with the
 * image's input position, so that one native numeric sort of a Float64Array orders everything; only digests
 * whose leading characters tie (rare for real digests) are compared as whole strings. Lookups binary-search
 * the sorted numbers the same way.
 *
 * Plain data and functions, not a class: see the notes near the top of plan.ts on object shapes.
 */
export interface DigestOrder {
  /** The images in digest order; an image's position here is its index in the plan. */
  readonly images: readonly Image[];
  /** `positionOf[k]`: the index of input image `k`. */
  readonly positionOf: Int32Array;
  /** `idOf[i]`: the index of the first image with the digest of image `i` (`i` itself unless a duplicate). */
  readonly idOf: Int32Array;
  /** With enough images: the keys, and each image's key by index. */
  readonly keys: DigestKeys | undefined;
  readonly sortedKeys: Float64Array | undefined;
}

export function orderByDigest(input: readonly Image[]): DigestOrder {
  const n = input.length;
  const digests = input.map((image) => image.digest);
  const keys = n < SMALL ? undefined : digestKeys(digests);
  /** `order[i]`: the input position of the image with index `i`. */
  let order: Int32Array;
  if (!keys) {
    order = Int32Array.from(Array.from(digests.keys()).sort(byDigestThenPosition(digests)));
  } else {
    // Key first, then the input position: all distinct, so the numeric sort (not a stable one) is
    // still deterministic, and equal keys stay in input order.
    const packed = new Float64Array(n);
    for (let k = 0; k < n; k++) packed[k] = keys.of[k]! * n + k;
    packed.sort();
    order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = packed[i]! % n;
    sortTies(order, keys.of, digests);
  }

  const images = new Array<Image>(n);
  for (let i = 0; i < n; i++) images[i] = input[order[i]!]!;
  // Each image's key by index: read in order below, and by `findDigest`.
  let sortedKeys: Float64Array | undefined;
  if (keys) {
    sortedKeys = new Float64Array(n);
    for (let i = 0; i < n; i++) sortedKeys[i] = keys.of[order[i]!]!;
  }
  const positionOf = new Int32Array(n);
  const idOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    positionOf[order[i]!] = i;
    // Different keys mean different digests; only equal keys need the strings compared.
    const same =
      i > 0 &&
      (!sortedKeys || sortedKeys[i] === sortedKeys[i - 1]) &&
      images[i]!.digest === images[i - 1]!.digest;
    idOf[i] = same ? idOf[i - 1]! : i;
  }
  return { images, positionOf, idOf, keys, sortedKeys };
}

/** The index of the first image with this digest, or -1 when there is none. */
export function findDigest(order: DigestOrder, digest: string): number {
  const { images, keys, sortedKeys } = order;
  const n = images.length;
  let lo = 0;
  let hi = n;
  if (keys && sortedKeys) {
    const key = keyOf(keys, digest);
    if (key === undefined) return -1;
    // The run of images with this key, then the first of them with this digest.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sortedKeys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    hi = lo;
    while (hi < n && sortedKeys[hi] === key) hi++;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (images[mid]!.digest < digest) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && images[lo]!.digest === digest ? lo : -1;
}

/**
 * Sorts the runs of equal keys in `order`: their digests agree on their leading characters, so compare them
 * whole (and then by input position, so the order is total and any sort gives the same result).
 */
function sortTies(order: Int32Array, keyAt: Float64Array, digests: readonly string[]): void {
  const n = order.length;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && keyAt[order[end]!] === keyAt[order[start]!]) end++;
    if (end - start > 1) order.subarray(start, end).sort(byDigestThenPosition(digests));
    start = end;
  }
}

/**
 * Numbers that order digests like their leading characters: `of[k]` for `digests[k]`, and `keyOf` for any
 * string (undefined when it cannot be one of the digests). Each character after the common prefix counts as
 * its rank among the characters that occur there (17 values for hex digests: 16 digits and "ended", 0,
 * which sorts first as a shorter string sorts before its extensions), as many characters as fit, up to
 * WINDOW: radix^width * n must stay within 2^52, as doubles hold integers exactly up to 2^53 and the factor
 * of 2 to spare keeps rounding in the check itself from ever mattering.
 */
interface DigestKeys {
  readonly of: Float64Array;
  readonly prefix: string;
  readonly rank: Int32Array;
  readonly radix: number;
  readonly width: number;
}

/** Ranks of the hexadecimal digits, in character order ("ended" is 0): a digest's own alphabet. */
const HEX_RANK: Int32Array = (() => {
  const rank = new Int32Array(65_536);
  for (const [i, c] of [...'0123456789abcdef'].entries()) rank[c.charCodeAt(0)] = i + 1;
  return rank;
})();
const HEX_RADIX = 17;

/** Digests read before the common prefix may still shrink cheaply (see hexDigestKeys). */
const EARLY = 64;

function digestKeys(digests: readonly string[]): DigestKeys {
  return hexDigestKeys(digests) ?? anyDigestKeys(digests);
}

/**
 * `anyDigestKeys` for the usual digests, in one pass over them instead of three (each pass over 100,000
 * strings is mostly waiting for memory): when every digest is hexadecimal where its key is read, the ranks are
 * those of the hexadecimal digits, known in advance, so each key is made as the digest is first read, together
 * with the common prefix. The keys order the digests exactly as `anyDigestKeys`'s do (the hexadecimal digits
 * rank in character order, "ended" first), and `keyOf` reads them with the same ranks; a digest with another
 * character where its key is read returns undefined (`anyDigestKeys` then does it). The prefix is the first
 * digest's until a digest differs; each time it shrinks, the keys made so far are made again, which is cheap
 * while few are made, so past the first EARLY digests a shrinking prefix also returns undefined.
 */
function hexDigestKeys(digests: readonly string[]): DigestKeys | undefined {
  const n = digests.length;
  let width = 0;
  while (width < WINDOW && HEX_RADIX ** (width + 1) * n <= EXACT) width++;
  const first = digests[0]!;
  let prefix = first;
  let common = first.length;
  const of = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const d = digests[k]!;
    if (!d.startsWith(prefix)) {
      if (k >= EARLY) return undefined;
      let j = 0;
      while (j < common && j < d.length && d.charCodeAt(j) === first.charCodeAt(j)) j++;
      common = j;
      prefix = first.slice(0, common);
      for (let q = 0; q < k; q++) {
        const key = hexKey(digests[q]!, common, width);
        if (key < 0) return undefined;
        of[q] = key;
      }
    }
    const key = hexKey(d, common, width);
    if (key < 0) return undefined;
    of[k] = key;
  }
  return { of, prefix, rank: HEX_RANK, radix: HEX_RADIX, width };
}

/** The key of `d` from `width` characters after the prefix, by HEX_RANK; -1 when one is not a hexadecimal digit. */
function hexKey(d: string, common: number, width: number): number {
  let key = 0;
  for (let j = common; j < common + width; j++) {
    let r = 0;
    if (j < d.length) {
      r = HEX_RANK[d.charCodeAt(j)]!;
      if (r === 0) return -1;
    }
    key = key * HEX_RADIX + r;
  }
  return key;
}

function anyDigestKeys(digests: readonly string[]): DigestKeys {
  const n = digests.length;
  let prefix = digests[0]!;
  for (const d of digests) {
    if (d.startsWith(prefix)) continue;
    let j = 0;
    while (j < prefix.length && d.charCodeAt(j) === prefix.charCodeAt(j)) j++;
    prefix = prefix.slice(0, j);
  }
  const common = prefix.length;
  // The characters that occur in the first WINDOW places after the prefix, ranked, in one pass.
  const rank = new Int32Array(65_536);
  const seen: number[] = [];
  for (const d of digests) {
    const end = Math.min(d.length, common + WINDOW);
    for (let j = common; j < end; j++) {
      const c = d.charCodeAt(j);
      if (rank[c] === 0) {
        rank[c] = 1;
        seen.push(c);
      }
    }
  }
  seen.sort((a, b) => a - b);
  for (const [i, c] of seen.entries()) rank[c] = i + 1;
  const radix = seen.length + 1;
  let width = 0;
  while (width < WINDOW && radix ** (width + 1) * n <= EXACT) width++;
  // Each digest's key as keyOf computes it, without keyOf's checks: these digests share the prefix, and
  // every character they have in the window has a rank.
  const of = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const d = digests[k]!;
    let key = 0;
    for (let j = common; j < common + width; j++)
      key = key * radix + (j < d.length ? rank[d.charCodeAt(j)]! : 0);
    of[k] = key;
  }
  return { of, prefix, rank, radix, width };
}

function keyOf(keys: DigestKeys, digest: string): number | undefined {
  const { prefix, rank, radix } = keys;
  if (!digest.startsWith(prefix)) return undefined;
  const end = prefix.length + keys.width;
  let key = 0;
  for (let j = prefix.length; j < end; j++) {
    let r = 0;
    if (j < digest.length) {
      r = rank[digest.charCodeAt(j)]!;
      // A character no digest has here: not one of the digests.
      if (r === 0) return undefined;
    }
    key = key * radix + r;
  }
  return key;
}
