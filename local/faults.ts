/**
 * Seeded fault injection for the local cloud. The server (local/server.ts) asks the injector, before each
 * request reaches an emulator, whether to hold it, drop it, throttle it, fail it or fail part of a batch.
 * Every decision comes from a per-operation PRNG stream, so a scenario run with the same seed injects the
 * same faults into the same calls of each operation, however calls to other operations interleave.
 *
 * Operation names are `<service>:<Operation>` as the server dispatches them, e.g. `ecr:BatchDeleteImage`,
 * `sqs:SendMessage`, `sns:Publish`, `lambda:Invoke`, `tagging:GetResources`, `ecs:DescribeServices`.
 * Rules match the exact name first, then `<service>:*`, then `*`.
 */

/** What to inject into calls of one operation (or `service:*`, or `*`). Rates are probabilities in 0..1. */
export interface FaultRule {
  /** Share of calls answered with the service's throttling error (ECR: `ThrottlingException` 400 "Rate exceeded"). */
  readonly throttleRate?: number;
  /** Share of calls answered with the service's 5xx error (ECR: `ServerException` 500). */
  readonly serverErrorRate?: number;
  /** Delay before the call is handled: a fixed number of ms, or `[min, max]` drawn from the seeded stream. */
  readonly latencyMs?: number | readonly [number, number];
  /**
   * Batch operations only (see {@link BATCH_SHAPES}): share of the request's items that are not handed to
   * the emulator and come back in the response's per-item failure list with a transient-looking code.
   */
  readonly partialFailureRate?: number;
  /** Overrides the per-item failure code of the batch shape (e.g. `UpstreamUnavailable` for ECR). */
  readonly partialFailureCode?: string;
}

/** Counters per operation, for test assertions and figures. */
export interface FaultCounts {
  /** Requests the injector saw (whether or not a fault was injected). */
  requests: number;
  throttled: number;
  serverErrors: number;
  /** Requests delayed by `latencyMs`. */
  delayed: number;
  /** Total ms of injected latency. */
  delayMs: number;
  /** Batch items failed by `partialFailureRate`. */
  partialItems: number;
  /** Requests whose socket was destroyed by an `onceBefore` hook. */
  dropped: number;
  /** `onceBefore` hooks that fired. */
  hooks: number;
}

/** What an `onceBefore` callback sees, and how it can end the request. */
export interface BeforeContext {
  /** `<service>:<Operation>`. */
  readonly operation: string;
  /** The decoded request input (the emulator has not seen it yet). */
  readonly input: unknown;
  /**
   * Marks the request to be dropped: the server destroys the socket without answering, as a crashed
   * client or a cut connection would leave it. The SDK sees a socket hang-up (ECONNRESET, retryable).
   */
  drop(): void;
}

/** Callback of {@link FaultInjector.onceBefore}; awaited before the request is handled. May throw a ServiceError. */
export type BeforeHook = (ctx: BeforeContext) => void | Promise<void>;

/** The injector's verdict on one request. `fault` is rendered by the server in the service's error format. */
export interface FaultDecision {
  readonly drop: boolean;
  readonly fault?: 'throttle' | 'serverError';
}

/**
 * How a batch operation carries items and per-item failures, so partial failures can be injected without
 * the emulator's help: the failed items are removed from the input and added to the output's failure list.
 */
export interface BatchShape {
  /** Input member holding the items. */
  readonly items: string;
  /** Output member holding per-item failures. */
  readonly failures: string;
  /** Output to return when every item failed (the emulator is then not called: 0 items is invalid input). */
  readonly empty: () => Record<string, unknown>;
  /** The failure entry for one item. */
  readonly failure: (item: unknown, code: string) => unknown;
  /** Default failure code: one the caller should treat as transient. */
  readonly code: string;
}

const ecrFailure = (item: unknown, code: string) => ({
  imageId: item,
  failureCode: code,
  failureReason:
    code === 'KmsError'
      ? 'The KMS key of the repository could not be used; the request can be retried.'
      : `Injected failure: ${code}`,
});

const sqsFailure = (item: unknown, code: string) => ({
  Id: (item as { Id?: unknown } | null)?.Id,
  SenderFault: false,
  Code: code,
  Message: 'We encountered an internal error. Please try again.',
});

/**
 * Batch operations whose partial failures can be injected.
 *
 * ECR's per-item code is `KmsError`. ECR's `ImageFailureCode` enum has no generic "try again" value; of
 * its members only `KmsError` (the repository's KMS key throttled or briefly unavailable) and the
 * pull-through-cache `Upstream*` codes are transient, and `KmsError` is the one that can hit any
 * repository (encryptionType KMS) on both BatchDeleteImage and BatchGetImage. `ImageReferencedByManifestList`
 * is deliberately not used: it is a real, state-dependent outcome the ECR emulator produces itself.
 * ECR Steward's EcrRegistry retries `KmsError` (RETRYABLE_FAILURES), so these faults exercise that path.
 * SQS batch entries fail with `InternalError`, `SenderFault: false` (a server-side, retryable entry failure).
 */
export const BATCH_SHAPES: Readonly<Record<string, BatchShape>> = {
  'ecr:BatchDeleteImage': {
    items: 'imageIds',
    failures: 'failures',
    empty: () => ({ imageIds: [], failures: [] }),
    failure: ecrFailure,
    code: 'KmsError',
  },
  'ecr:BatchGetImage': {
    items: 'imageIds',
    failures: 'failures',
    empty: () => ({ images: [], failures: [] }),
    failure: ecrFailure,
    code: 'KmsError',
  },
  'sqs:SendMessageBatch': {
    items: 'Entries',
    failures: 'Failed',
    empty: () => ({ Successful: [], Failed: [] }),
    failure: sqsFailure,
    code: 'InternalError',
  },
  'sqs:DeleteMessageBatch': {
    items: 'Entries',
    failures: 'Failed',
    empty: () => ({ Successful: [], Failed: [] }),
    failure: sqsFailure,
    code: 'InternalError',
  },
  'sqs:ChangeMessageVisibilityBatch': {
    items: 'Entries',
    failures: 'Failed',
    empty: () => ({ Successful: [], Failed: [] }),
    failure: sqsFailure,
    code: 'InternalError',
  },
  'sns:PublishBatch': {
    items: 'PublishBatchRequestEntries',
    failures: 'Failed',
    empty: () => ({ Successful: [], Failed: [] }),
    failure: sqsFailure,
    code: 'InternalError',
  },
};

/** A batch request after partial-failure injection. */
export interface BatchSplit {
  /** The input to hand to the emulator (the surviving items), or undefined when every item failed. */
  readonly input: unknown;
  /** Adds the injected failures to the emulator's output (or builds the whole output when input is undefined). */
  merge(output: unknown): unknown;
}

/** mulberry32: a tiny, fast 32-bit PRNG; good enough for fault rolls and fully reproducible from its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string, to derive an independent stream per operation from one seed. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function emptyCounts(): FaultCounts {
  return {
    requests: 0,
    throttled: 0,
    serverErrors: 0,
    delayed: 0,
    delayMs: 0,
    partialItems: 0,
    dropped: 0,
    hooks: 0,
  };
}

/** Options of {@link FaultInjector}. */
export interface FaultInjectorOptions {
  /** Seed of every PRNG stream; same seed, same faults. Default 1. */
  readonly seed?: number;
  /** Initial rules by operation name (`ecr:BatchDeleteImage`, `ecr:*`, `*`). */
  readonly rules?: Readonly<Record<string, FaultRule>>;
}

/**
 * Decides, per request, which faults to inject. Holds rules, one-shot hooks and counters; the server calls
 * {@link before} and {@link splitBatch}. Tests configure it with {@link set} and {@link onceBefore}.
 */
export class FaultInjector {
  readonly seed: number;
  private readonly rules = new Map<string, FaultRule>();
  private readonly streams = new Map<string, () => number>();
  private readonly hooks: { operation: string; callback: BeforeHook }[] = [];
  private readonly counts = new Map<string, FaultCounts>();

  constructor(options: FaultInjectorOptions = {}) {
    this.seed = options.seed ?? 1;
    for (const [operation, rule] of Object.entries(options.rules ?? {})) this.set(operation, rule);
  }

  /** Sets (replaces) the rule of an operation, `service:*` or `*`. Returns this for chaining. */
  set(operation: string, rule: FaultRule): this {
    for (const key of ['throttleRate', 'serverErrorRate', 'partialFailureRate'] as const) {
      const rate = rule[key];
      if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new RangeError(`${key} must be in 0..1`);
    }
    this.rules.set(operation, rule);
    return this;
  }

  /** Removes the rule of one operation, or every rule and pending hook when called without argument. */
  clear(operation?: string): void {
    if (operation === undefined) {
      this.rules.clear();
      this.hooks.length = 0;
    } else this.rules.delete(operation);
  }

  /**
   * Runs `callback` once, before the next request of `operation` (or of any operation with `*`, or of a
   * service with `ecr:*`) is handled. The request waits for the callback, so a test can stop the calling
   * function at exactly that point (e.g. await a promise it resolves later, or call `ctx.drop()`).
   * Returns a function that cancels the hook if it has not fired yet.
   */
  onceBefore(operation: string, callback: BeforeHook): () => void {
    const hook = { operation, callback };
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  /** Counters of one operation (zeros if it was never seen). */
  stats(operation: string): Readonly<FaultCounts> {
    return { ...(this.counts.get(operation) ?? emptyCounts()) };
  }

  /** Counters of every operation seen, sorted by name. */
  snapshot(): Record<string, FaultCounts> {
    return Object.fromEntries(
      [...this.counts].sort(([a], [b]) => a.localeCompare(b)).map(([op, c]) => [op, { ...c }]),
    );
  }

  /** Sum of the counters over every operation. */
  totals(): FaultCounts {
    const sum = emptyCounts();
    for (const c of this.counts.values())
      for (const key of Object.keys(sum) as (keyof FaultCounts)[]) sum[key] += c[key];
    return sum;
  }

  /** The rule applying to an operation: exact name, then `service:*`, then `*`. */
  ruleFor(operation: string): FaultRule | undefined {
    const service = operation.split(':')[0] ?? '';
    return this.rules.get(operation) ?? this.rules.get(`${service}:*`) ?? this.rules.get('*');
  }

  /**
   * Server side: runs a pending hook, waits the injected latency and rolls for throttling and server
   * errors. Hooks run first so a test can stop a caller even when the call would have been throttled.
   */
  async before(operation: string, input: unknown): Promise<FaultDecision> {
    const counts = this.countsOf(operation);
    counts.requests++;
    let drop = false;
    const hook = this.takeHook(operation);
    if (hook) {
      counts.hooks++;
      await hook.callback({
        operation,
        input,
        drop: () => {
          drop = true;
        },
      });
      if (drop) {
        counts.dropped++;
        return { drop: true };
      }
    }
    const rule = this.ruleFor(operation);
    if (!rule) return { drop: false };
    const random = this.stream(operation);
    // Both rolls are always drawn so that changing one rate does not shift the other's sequence.
    const throttleRoll = random();
    const serverRoll = random();
    const latency = this.latency(rule, random);
    if (latency > 0) {
      counts.delayed++;
      counts.delayMs += latency;
      await sleep(latency);
    }
    if (throttleRoll < (rule.throttleRate ?? 0)) {
      counts.throttled++;
      return { drop: false, fault: 'throttle' };
    }
    if (serverRoll < (rule.serverErrorRate ?? 0)) {
      counts.serverErrors++;
      return { drop: false, fault: 'serverError' };
    }
    return { drop: false };
  }

  /**
   * Server side: for a batch operation with a `partialFailureRate`, removes the failed share of items from
   * the input and returns how to put them back as failures into the output. Undefined when nothing to do.
   */
  splitBatch(operation: string, input: unknown): BatchSplit | undefined {
    const shape = BATCH_SHAPES[operation];
    const rate = this.ruleFor(operation)?.partialFailureRate ?? 0;
    if (!shape || rate <= 0 || typeof input !== 'object' || input === null) return undefined;
    const items = (input as Record<string, unknown>)[shape.items];
    if (!Array.isArray(items) || items.length === 0) return undefined;
    const random = this.stream(`${operation}#items`);
    const kept: unknown[] = [];
    const failed: unknown[] = [];
    for (const item of items) (random() < rate ? failed : kept).push(item);
    if (failed.length === 0) return undefined;
    this.countsOf(operation).partialItems += failed.length;
    const code = this.ruleFor(operation)?.partialFailureCode ?? shape.code;
    const entries = failed.map((item) => shape.failure(item, code));
    return {
      input: kept.length > 0 ? { ...(input as Record<string, unknown>), [shape.items]: kept } : undefined,
      merge: (output) => {
        const out = { ...((output as Record<string, unknown> | undefined) ?? shape.empty()) };
        const existing = out[shape.failures];
        out[shape.failures] = [...(Array.isArray(existing) ? existing : []), ...entries];
        return out;
      },
    };
  }

  private latency(rule: FaultRule, random: () => number): number {
    const spec = rule.latencyMs;
    if (spec === undefined) return 0;
    if (typeof spec === 'number') return spec;
    const [min, max] = spec;
    return Math.round(min + random() * (max - min));
  }

  private takeHook(operation: string) {
    const service = operation.split(':')[0];
    const i = this.hooks.findIndex(
      (h) => h.operation === operation || h.operation === '*' || h.operation === `${service}:*`,
    );
    if (i < 0) return undefined;
    return this.hooks.splice(i, 1)[0];
  }

  private stream(name: string): () => number {
    let s = this.streams.get(name);
    if (!s) {
      s = mulberry32(this.seed ^ fnv1a(name));
      this.streams.set(name, s);
    }
    return s;
  }

  private countsOf(operation: string): FaultCounts {
    let c = this.counts.get(operation);
    if (!c) {
      c = emptyCounts();
      this.counts.set(operation, c);
    }
    return c;
  }
}
