/**
 * The local cloud's SQS event source mappings keep the template's batching window
 * (`MaximumBatchingWindowInSeconds`): a standard queue's messages wait for more, as Lambda's poller makes them,
 * until the batch is full, the window has passed, or nothing else in the cloud could add to the batch.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud.js';
import { LocalQueue, type QueueMessage, waitsForBatch } from '../../local/sqs.js';
import { readTemplate, type Template } from '../../local/template.js';
import { assemblies } from '../support/assembly.js';

const queue = (fifo = false) =>
  new LocalQueue({ logicalId: 'Q', fifo, contentBasedDeduplication: true, visibilityMs: 1_000 });

describe('LocalQueue.ready', () => {
  it('counts the messages a receive could take now, and since when the longest-waiting one could be taken', () => {
    // Prepare
    const q = queue();
    const t0 = 1_000_000;
    for (const body of ['a', 'b', 'c']) q.send(body);
    const [a, b, c] = q.messages as [QueueMessage, QueueMessage, QueueMessage];
    a.visibleAt = a.sentAt = t0 - 900;
    b.sentAt = t0 - 800;
    b.visibleAt = t0 + 5_000; // a failed delivery's message, invisible for 5 s
    c.visibleAt = c.sentAt = t0 - 300;
    const taken = q.receive(1); // 'a' in flight

    // Act
    const now = q.ready(t0);
    const later = q.ready(t0 + 6_000);

    // Assess
    expect(taken.map((m) => m.body)).toEqual(['a']);
    expect(now).toEqual({ count: 1, since: t0 - 300 });
    // 'b' became receivable at its visibility time, not when it was first sent.
    expect(later).toEqual({ count: 2, since: t0 - 300 });
    c.visibleAt = c.sentAt = t0 + 5_500;
    expect(q.ready(t0 + 6_000)).toEqual({ count: 2, since: t0 + 5_000 });
  });

  it('says whether a receive would take a message: a FIFO group waits behind its invisible head', () => {
    // Prepare
    const fifo = queue(true);
    fifo.send('head', { groupId: 'g', deduplicationId: 'h' });
    fifo.send('next', { groupId: 'g', deduplicationId: 'n' });
    const standard = queue();
    standard.send('x');
    standard.send('y');
    for (const q of [fifo, standard]) q.messages[0]!.visibleAt = Date.now() + 60_000;

    // Act, Assess: both hold a visible message; only the standard queue would deliver it.
    expect(fifo.ready().count).toBe(1);
    expect([fifo.deliverable(), standard.deliverable()]).toEqual([false, true]);
    expect(fifo.messages.map((m) => m.receiveCount)).toEqual([0, 0]);
  });

  it('is 0 since now for an empty queue', () => {
    expect(queue().ready(1_000)).toEqual({ count: 0, since: 1_000 });
  });
});

describe('waitsForBatch', () => {
  const windowed: { batchSize: number; batchingWindowMs?: number } = {
    batchSize: 3,
    batchingWindowMs: 2_000,
  };

  /** A queue holding `n` messages sent `ageMs` before `now`. */
  function holding(n: number, ageMs: number, now: number, fifo = false): LocalQueue {
    const q = queue(fifo);
    for (let i = 0; i < n; i++) q.send(`m${i}`, fifo ? { groupId: 'g', deduplicationId: `d${i}` } : {});
    for (const m of q.messages) {
      m.sentAt = now - ageMs;
      m.visibleAt = now - ageMs;
    }
    return q;
  }

  it.each([
    ['a partial batch within the window, others busy', windowed, 2, 1_999, false, true, true],
    ['a partial batch within the window, nothing else busy', windowed, 2, 1_999, false, false, false],
    ['a full batch', windowed, 3, 0, false, true, false],
    ['a partial batch whose oldest message waited the window', windowed, 2, 2_000, false, true, false],
    ['an empty queue', windowed, 0, 0, false, true, false],
    ['no window', { batchSize: 3 }, 1, 0, false, true, false],
    ['a window of 0', { batchSize: 3, batchingWindowMs: 0 }, 1, 0, false, true, false],
    ['a FIFO queue (no window)', windowed, 1, 0, true, true, false],
  ])('%s: waits %#', (_, mapping, n, ageMs, fifo, busy, waits) => {
    const now = 1_000_000;
    let asked = 0;

    const answer = waitsForBatch(mapping, holding(n, ageMs, now, fifo), now, () => {
      asked++;
      return busy;
    });

    expect(answer).toBe(waits);
    // Whether anything else is busy is asked only when it decides.
    expect(asked).toBe(
      n > 0 && n < 3 && ageMs < 2_000 && !fifo && (mapping.batchingWindowMs ?? 0) > 0 ? 1 : 0,
    );
  });
});

// ------------------------------------------------------------------------------------------- the template

/** An event source mapping from `queue` to `fn`: batches of up to 100, with a window unless it is undefined. */
function windowMapping(queue: string, fn: string, windowSeconds: number | undefined) {
  return {
    Type: 'AWS::Lambda::EventSourceMapping',
    Properties: {
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      FunctionName: { Ref: fn },
      BatchSize: 100,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ...(windowSeconds === undefined ? {} : { MaximumBatchingWindowInSeconds: windowSeconds }),
    },
  };
}

/**
 * `Recorder` reads the `Burst` queue (a batch of up to 100, a window of `windowSeconds`); `Busy` runs for
 * `event.ms` milliseconds, as another function of the cloud would.
 */
function windowTemplate(windowSeconds: number | undefined): Template {
  return {
    Resources: {
      Burst: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 60 } },
      Recorder: {
        Type: 'AWS::Lambda::Function',
        Properties: { Handler: 'index.handler', Timeout: 30 },
        Metadata: { 'aws:asset:path': 'asset.fns' },
      },
      Busy: {
        Type: 'AWS::Lambda::Function',
        Properties: { Handler: 'index.busy', Timeout: 30 },
        Metadata: { 'aws:asset:path': 'asset.fns' },
      },
      RecorderMapping: windowMapping('Burst', 'Recorder', windowSeconds),
    },
  };
}

/** `windowTemplate` and a second windowed queue, `Second`, read by `Busy`. */
function twoWindowsTemplate(windowSeconds: number): Template {
  return {
    Resources: {
      ...windowTemplate(windowSeconds).Resources,
      Second: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 60 } },
      SecondMapping: windowMapping('Second', 'Busy', windowSeconds),
    },
  };
}

describe('readTemplate (batching windows)', () => {
  it("reads an SQS mapping's MaximumBatchingWindowInSeconds in ms, and 0 when the template sets none", () => {
    const windowed = readTemplate(windowTemplate(2), '/cdk.out', 'http://127.0.0.1:1').mappings;
    const plain = readTemplate(windowTemplate(undefined), '/cdk.out', 'http://127.0.0.1:1').mappings;

    expect(windowed).toEqual([
      {
        queue: 'Burst',
        functionId: 'Recorder',
        batchSize: 100,
        batchingWindowMs: 2_000,
        reportBatchItemFailures: true,
      },
    ]);
    expect(plain.map((m) => m.batchingWindowMs)).toEqual([0]);
  });
});

// ---------------------------------------------------------------------------------------------- the cloud

describe('LocalCloud batching windows', () => {
  const fixtures = assemblies('sqs-window-');
  /** `Recorder` logs its batch's bodies; `Busy` runs for `event.ms` milliseconds. */
  const FUNCTIONS = [
    'exports.handler = async (event) => {',
    '  console.log(JSON.stringify({ batch: event.Records.map((r) => r.body) }));',
    '  return { batchItemFailures: [] };',
    '};',
    'exports.busy = async (event) => { await new Promise((r) => setTimeout(r, event.ms)); return { slept: event.ms }; };',
    '',
  ].join('\n');

  async function withCloud(
    windowSeconds: number,
    run: (cloud: LocalCloud) => Promise<void>,
    template = windowTemplate(windowSeconds),
  ): Promise<void> {
    const cloud = await fixtures.start(template, { 'asset.fns': FUNCTIONS });
    try {
      await run(cloud);
    } finally {
      await cloud.close();
    }
  }

  /** The batches Recorder was invoked with, in order. */
  const batches = (cloud: LocalCloud) =>
    cloud.functions.logRecords
      .filter((l) => l.functionId === 'Recorder' && Array.isArray(l.record.batch))
      .map((l) => l.record.batch);

  afterAll(() => fixtures.remove());

  it('gathers messages sent while another function runs into one batch, delivered when it ends', async () => {
    await withCloud(60, async (cloud) => {
      const burst = cloud.queues.get('Burst')!;
      const busy = cloud.functions.invoke('Busy', { ms: 1_500 });
      for (const body of ['a', 'b', 'c', 'd', 'e']) {
        burst.send(body);
        await new Promise((r) => setTimeout(r, 100));
      }
      const busyEnded = await busy.then(() => Date.now());
      await cloud.settle(10_000);

      expect(batches(cloud)).toEqual([['a', 'b', 'c', 'd', 'e']]);
      const delivered = cloud.deliveries.filter((d) => d.target === 'Recorder');
      expect(delivered.map((d) => [d.kind, d.ok])).toEqual([['batch', true]]);
      // Long before the window of 60 s: once Busy had ended, nothing else could add to the batch.
      expect(delivered[0]!.at).toBeGreaterThanOrEqual(busyEnded);
    });
  }, 30_000);

  it('delivers a lone message at once when nothing else runs', async () => {
    await withCloud(60, async (cloud) => {
      cloud.queues.get('Burst')!.send('alone');

      // settle gives up after 10 s: far less than the 60 s window.
      await cloud.settle(10_000);

      expect(batches(cloud)).toEqual([['alone']]);
    });
  }, 30_000);

  it('does not wait for a queue that itself waits for its batch: two windowed queues deliver at once', async () => {
    await withCloud(
      60,
      async (cloud) => {
        cloud.queues.get('Burst')!.send('a');
        cloud.queues.get('Second')!.send(JSON.stringify({ ms: 0 }));

        // settle gives up after 10 s: far less than the 60 s window each would otherwise wait for the other.
        await cloud.settle(10_000);

        expect(batches(cloud)).toEqual([['a']]);
        expect(cloud.deliveries.filter((d) => d.kind === 'batch').map((d) => d.target)).toEqual(
          expect.arrayContaining(['Recorder', 'Busy']),
        );
      },
      twoWindowsTemplate(60),
    );
  }, 30_000);

  it('delivers what it has once its longest-waiting message has waited the window, though others still run', async () => {
    await withCloud(1, async (cloud) => {
      const burst = cloud.queues.get('Burst')!;
      const busy = cloud.functions.invoke('Busy', { ms: 5_000 });
      burst.send('early');
      await new Promise((r) => setTimeout(r, 300));
      burst.send('later');
      const deliveredBeforeBusyEnded = await new Promise<boolean>((resolve) => {
        void busy.then(() => resolve(false));
        const poll = setInterval(() => {
          if (batches(cloud).length > 0) {
            clearInterval(poll);
            resolve(true);
          }
        }, 20);
        void busy.then(() => clearInterval(poll));
      });
      await cloud.settle(10_000);

      expect(deliveredBeforeBusyEnded).toBe(true);
      expect(batches(cloud)).toEqual([['early', 'later']]);
    });
  }, 30_000);
});
