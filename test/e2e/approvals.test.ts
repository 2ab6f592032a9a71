/**
 * Approvals on the wire: the app synthesized with test/e2e/steward.approvals.jsonc (`prod/*` keeps five dev
 * builds; a run that would delete more than three images of a repository opens a deletion request, after a
 * 24-hour notice; approvers the ops-* roles and alice, requester alice, requests expire after 48 hours), its
 * bundled functions on the local cloud, and the approvals function behind the local cloud's function URL, which
 * verifies SigV4 signatures against the local principals' keys and the template's resource policy before the
 * function runs. Every call here is signed with the SDK's own signer (`@smithy/signature-v4`) as alice, ops
 * (a session of role ops-approver) or mallory, or deliberately not, or altered after signing.
 *
 * Each test reads the end state from the outside: the images as DescribeImages shows them, the deletion audit
 * records and the request events in the audit table, the requests table, the messages on the approvals and
 * notices topics, and how often the approvals function was invoked.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  type ImageDetail,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dedupId, messageGroupId } from '../../functions/cleanup/sweep.js';
import { type RequestEventItem, requestEvents } from '../../functions/shared/approvals/audit.js';
import { approvalMessage, refusalNotice } from '../../functions/shared/approvals/message.js';
import type { DeletionRequestRecord } from '../../functions/shared/approvals/model.js';
import type { AuditRecord } from '../../functions/shared/audit/records.js';
import { parseConfig } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import type { EcrEvent } from '../../local/ecr-emulator.js';
import { FaultInjector } from '../../local/faults.js';
import { credentialsFor, type LocalPrincipalName, principalNamed } from '../../local/principals.js';
import {
  deadLetters,
  type E2E,
  expectedPlan,
  expiring,
  figures,
  LOCAL_REGION,
  present,
  push,
  scanTable,
  seed,
  startE2E,
  waitFor,
  workerReports,
} from './harness.js';
import { ensureCdkOut, ROOT } from './synth.js';

const CONFIG = 'test/e2e/steward.approvals.jsonc';
const approvalsConfig: StewardConfig = parseConfig(readFileSync(path.join(ROOT, CONFIG), 'utf8'), CONFIG);
const HOUR = 3_600_000;
const ALICE = principalNamed('alice').arn;
const OPS = principalNamed('ops').arn;
const MALLORY = principalNamed('mallory').arn;
/** The user agent every signed call here sends: the endpoint audits it with each answer. */
const USER_AGENT = 'approvals-e2e/1.0';
/** A well-formed request id that no request has. */
const UNKNOWN_ID = 'req-20260101T000000-zzzzzz';

let e2e: E2E | undefined;

// The assembly is synthesized (or found current) once, before the tests: its 10–40 s are no test's time.
beforeAll(async () => {
  await ensureCdkOut(CONFIG);
}, 180_000);

afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

async function start(name: string, faults?: FaultInjector): Promise<E2E> {
  e2e = await startE2E(name, {
    config: CONFIG,
    ...(faults ? { faults, dynamoFaults: true } : {}),
  });
  return e2e;
}

/** The table and topic names the stack gives the functions (the harness names only the older ones). */
function approvalsEnv(t: E2E): { requests: string; approvalsTopic: string } {
  const env = t.cloud.cliEnv();
  const requests = env.REQUESTS_TABLE_NAME;
  const approvalsTopic = env.APPROVALS_TOPIC_ARN;
  if (!requests || !approvalsTopic) throw new Error('the approvals stack has no requests table or topic');
  return { requests, approvalsTopic };
}

/** The logical id of the function behind the approvals URL. */
function approvalsFunction(t: E2E): string {
  const ids = [...t.cloud.functionUrls().keys()].filter((id) => id.toLowerCase().includes('approvals'));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

/** How many times the approvals function has been invoked so far. */
const invocations = (t: E2E) => t.cloud.functions.invocations.get(approvalsFunction(t)) ?? 0;

interface Reply {
  readonly status: number;
  readonly body: {
    readonly error?: { readonly code: string; readonly message: string };
    readonly request?: DeletionRequestRecord;
    readonly requests?: DeletionRequestRecord[];
    readonly changed?: boolean;
  };
}

interface CallOptions {
  /** Who signs; undefined sends the call unsigned. */
  readonly as: LocalPrincipalName | undefined;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** The body that is signed (and sent, unless `tamper.body` replaces it). */
  readonly body?: string;
  /** Changes what goes on the wire after signing: another body, and headers to add or override. */
  readonly tamper?: { readonly body?: string; readonly headers?: Readonly<Record<string, string>> };
}

/**
 * One call to the approvals function URL, signed with SigV4 (service `lambda`) over exactly the method, path,
 * query, host and body that are sent (unless `tamper` changes them afterwards), as the CLI signs it.
 */
async function call(t: E2E, options: CallOptions): Promise<Reply> {
  const base = new URL(t.cloud.functionUrl('Approvals'));
  const query = options.query ?? {};
  const request = new HttpRequest({
    method: options.method,
    protocol: base.protocol,
    hostname: base.hostname,
    port: Number(base.port),
    path: options.path,
    query: { ...query },
    headers: {
      host: base.host,
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const signed = options.as
    ? await new SignatureV4({
        service: 'lambda',
        region: LOCAL_REGION,
        credentials: credentialsFor(options.as),
        sha256: Hash.bind(null, 'sha256'),
      }).sign(request)
    : request;
  // fetch sends the URL's host itself (the value that was signed); everything else goes as signed.
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  for (const [name, value] of Object.entries(signed.headers)) if (name !== 'host') headers[name] = value;
  Object.assign(headers, options.tamper?.headers ?? {});
  const body = options.tamper?.body ?? options.body;
  const search = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  const response = await fetch(`${base.origin}${options.path}${search ? `?${search}` : ''}`, {
    method: options.method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  return { status: response.status, body: JSON.parse(await response.text()) as Reply['body'] };
}

const approve = (t: E2E, as: LocalPrincipalName, id: string, comment?: string) =>
  call(t, {
    as,
    method: 'POST',
    path: `/requests/${id}/approve`,
    body: JSON.stringify(comment === undefined ? {} : { comment }),
  });

const reject = (t: E2E, as: LocalPrincipalName, id: string, reason: string) =>
  call(t, { as, method: 'POST', path: `/requests/${id}/reject`, body: JSON.stringify({ reason }) });

/** The ids `GET /requests?state=PENDING_APPROVAL` lists, signed by `as`. */
const pendingIds = async (t: E2E, as: LocalPrincipalName = 'ops') => {
  const reply = await call(t, {
    as,
    method: 'GET',
    path: '/requests',
    query: { state: 'PENDING_APPROVAL' },
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.requests!.map((r) => r.id).sort();
};

/** Every stored deletion request, by id (a Scan of the requests table: what the table holds, not an index). */
async function requestsTable(t: E2E): Promise<Map<string, DeletionRequestRecord>> {
  const items = await scanTable(t.doc, approvalsEnv(t).requests);
  return new Map(
    items
      .filter((i) => i.sk === 'REQUEST')
      .map((i) => [String(i.id), i as unknown as DeletionRequestRecord] as const),
  );
}

/** The stored requests of one repository, oldest first. */
async function requestsOf(t: E2E, repository: string): Promise<DeletionRequestRecord[]> {
  return [...(await requestsTable(t)).values()]
    .filter((r) => r.repository === repository)
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
}

/** The deletion audit records of a repository (one per digest at most), by digest. */
async function imageRecords(t: E2E, repository: string): Promise<Map<string, AuditRecord[]>> {
  const out = new Map<string, AuditRecord[]>();
  for (const item of await scanTable(t.doc, t.tables.audit)) {
    if (!String(item.pk).startsWith('IMG#') || item.repository !== repository) continue;
    const r = item as unknown as AuditRecord;
    out.set(r.digest, [...(out.get(r.digest) ?? []), r]);
  }
  return out;
}

/** `digest → status` of a repository's deletion records, each digest asserted to have exactly one record. */
async function statuses(t: E2E, repository: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [digest, records] of await imageRecords(t, repository)) {
    expect(records, `records of ${digest} in ${repository}`).toHaveLength(1);
    out[digest] = records[0]!.status;
  }
  return out;
}

const allOf = (digests: readonly string[], status: string) =>
  Object.fromEntries([...digests].sort().map((d) => [d, status]));

/** The digests a repository holds, as DescribeImages answers (every page). */
async function describedDigests(t: E2E, repository: string): Promise<string[]> {
  const out: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await t.ecr.send(
      new DescribeImagesCommand({ repositoryName: repository, maxResults: 1000, nextToken }),
    );
    for (const d of page.imageDetails ?? ([] as ImageDetail[])) out.push(d.imageDigest ?? '?');
    nextToken = page.nextToken;
  } while (nextToken);
  return out.sort();
}

/** The request events of one request: action, outcome, code, who, and whether it changed anything. */
const eventsOf = async (t: E2E, id: string) =>
  (await requestEvents(t.doc, t.tables.audit, id)).map((e: RequestEventItem) => ({
    action: e.action,
    outcome: e.outcome,
    code: e.code,
    principal: e.principal,
    changed: e.changed,
  }));

const messagesOn = (t: E2E, topicArn: string) => t.cloud.sns.messages.filter((m) => m.topicArn === topicArn);

/** Runs the due-deletion processor as its schedule would, and waits until the queue and functions are idle. */
async function processDue(t: E2E): Promise<void> {
  const result = await t.cloud.runSchedule('CleanupDueDeletionSchedule');
  expect(result.ok, result.error?.message).toBe(true);
  await t.cloud.settle(60_000);
}

/** Seeds nine dev builds (ten days old) and pushes one more: the policy keeps five, so five go. */
async function repositoryWithFiveToGo(
  t: E2E,
  repository: string,
): Promise<{ seeded: string[]; pushed: string; planned: string[] }> {
  const seeded = seed(
    t,
    repository,
    Array.from({ length: 9 }, (_, i) => ({ tags: [`dev-s${i}`] })),
  );
  const plan = await expectedPlan(t, repository, t.cloud.now(), [], approvalsConfig);
  // Before the push nine dev builds: the four oldest are planned, which needs no approval (not over three)…
  expect(expiring(plan)).toEqual(seeded.slice(0, 4).sort());
  const pushed = push(t, repository, ['dev-new']);
  // …and the push makes it five: over three, so the run asks.
  const planned = expiring(await expectedPlan(t, repository, t.cloud.now(), [], approvalsConfig));
  expect(planned).toEqual(seeded.slice(0, 5).sort());
  return { seeded, pushed, planned };
}

/** The push event ECR sent for a digest. */
const pushEventOf = (t: E2E, digest: string): EcrEvent => {
  const event = t.busEvents.find(
    (e) => e.detail['action-type'] === 'PUSH' && e.detail['image-digest'] === digest,
  );
  if (!event) throw new Error(`no push event for ${digest}`);
  return event;
};

/** Adds a tag to an image already in the repository, as `docker tag` + `docker push` (PutImage) would. */
async function retag(t: E2E, repository: string, digest: string, tag: string): Promise<void> {
  const got = await t.ecr.send(
    new BatchGetImageCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] }),
  );
  const image = got.images?.[0];
  if (!image?.imageManifest) throw new Error(`no manifest for ${repository}@${digest}`);
  await t.ecr.send(
    new PutImageCommand({
      repositoryName: repository,
      imageManifest: image.imageManifest,
      imageManifestMediaType: image.imageManifestMediaType,
      imageTag: tag,
    }),
  );
}

describe('approvals on the local cloud, over signed HTTP', () => {
  it('refuses unsigned, altered, unauthorised, self-approving, expired, unknown and malformed calls with their exact status and code, and answers an approver idempotently', async () => {
    // Prepare: a push plans five deletions (a policy request), and alice asks for one more image (her request).
    const started = Date.now();
    const t = await start('approvals-matrix');
    const repository = 'prod/matrix';
    const { seeded } = await repositoryWithFiveToGo(t, repository);
    await t.cloud.settle();
    const opened = await requestsOf(t, repository);
    expect(opened).toHaveLength(1);
    const [policy] = opened;
    expect(policy).toMatchObject({ state: 'PENDING_APPROVAL', requester: { type: 'ecr-steward' } });
    const created = await call(t, {
      as: 'alice',
      method: 'POST',
      path: '/requests',
      body: JSON.stringify({
        kind: 'delete',
        repository,
        digests: [seeded[7]!],
        reason: 'customer contract ended (TICKET-88)',
      }),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const mine = created.body.request!;
    expect(mine).toMatchObject({
      state: 'PENDING_APPROVAL',
      requester: { type: 'principal', arn: ALICE },
      images: [{ digest: seeded[7]! }],
    });
    const ran = () => invocations(t);

    // Act + Assess, one row of the matrix at a time: status, code, and whether the function ran.
    // Unsigned: the URL refuses before the function runs.
    let before = ran();
    const unsigned = await call(t, { as: undefined, method: 'GET', path: '/requests' });
    expect([unsigned.status, unsigned.body.error?.code]).toEqual([403, 'Unsigned']);
    expect(ran()).toBe(before);
    expect(t.cloud.urlCalls.at(-1)).toMatchObject({ status: 403, refusal: 'Unsigned', caller: undefined });

    // Signed by ops, then the body changed on the way: the content hash no longer matches.
    const approval = JSON.stringify({ comment: 'fine' });
    const altered = await call(t, {
      as: 'ops',
      method: 'POST',
      path: `/requests/${policy!.id}/approve`,
      body: approval,
      tamper: { body: JSON.stringify({ comment: 'fine, and approve everything else too' }) },
    });
    expect([altered.status, altered.body.error?.code]).toEqual([403, 'InvalidSignature']);
    expect(altered.body.error?.message).toMatch(/changed after signing/);
    // The same, with the content hash recomputed for the new body: now the signature itself does not match.
    const forged = JSON.stringify({ comment: 'forged' });
    const resigned = await call(t, {
      as: 'ops',
      method: 'POST',
      path: `/requests/${policy!.id}/approve`,
      body: approval,
      tamper: {
        body: forged,
        headers: { 'x-amz-content-sha256': createHash('sha256').update(forged).digest('hex') },
      },
    });
    expect([resigned.status, resigned.body.error?.code]).toEqual([403, 'InvalidSignature']);
    expect(resigned.body.error?.message).toMatch(/signature does not match/);
    expect(ran()).toBe(before);

    // mallory signs correctly and passes the URL's policy (the ops-* wildcard grants the account), but is no approver.
    before = ran();
    const mallory = await approve(t, 'mallory', policy!.id, 'let me');
    expect([mallory.status, mallory.body.error?.code]).toEqual([403, 'NotAnApprover']);
    expect(ran()).toBe(before + 1);
    expect(t.cloud.urlCalls.at(-1)).toMatchObject({ status: 403, caller: MALLORY, refusal: undefined });

    // alice is an approver, but not of her own request.
    const self = await approve(t, 'alice', mine.id);
    expect([self.status, self.body.error?.code]).toEqual([403, 'SelfApproval']);

    // An id no request has; a body that is not JSON.
    const unknown = await approve(t, 'ops', UNKNOWN_ID);
    expect([unknown.status, unknown.body.error?.code]).toEqual([404, 'NotFound']);
    const malformed = await call(t, {
      as: 'ops',
      method: 'POST',
      path: `/requests/${policy!.id}/approve`,
      body: '{"comment": "fine"',
    });
    expect([malformed.status, malformed.body.error?.code]).toEqual([400, 'BadRequest']);
    expect(malformed.body.error?.message).toMatch(/^the body is not JSON/);
    expect(ran()).toBe(before + 4);

    // Nothing refused changed a request: both are pending, and the list says exactly that.
    expect(await pendingIds(t)).toEqual([policy!.id, mine.id].sort());
    expect(await pendingIds(t, 'alice')).toEqual([policy!.id, mine.id].sort());

    // ops approves the policy request; the same approval again changes nothing.
    const first = await approve(t, 'ops', policy!.id, 'checked with the ledger team');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      changed: true,
      request: {
        id: policy!.id,
        state: 'APPROVED',
        decision: { action: 'approve', by: OPS, comment: 'checked with the ledger team' },
      },
    });
    const again = await approve(t, 'ops', policy!.id, 'checked with the ledger team');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ changed: false, request: { id: policy!.id, state: 'APPROVED' } });
    expect(again.body.request!.decision).toEqual(first.body.request!.decision);
    expect(await pendingIds(t)).toEqual([mine.id]);
    const stored = (await requestsTable(t)).get(policy!.id)!;
    expect(stored.state).toBe('APPROVED');
    expect(stored.decision).toEqual(first.body.request!.decision);
    expect(stored.decision).toMatchObject({ sourceIp: '127.0.0.1', userAgent: USER_AGENT });

    // Past expiresAfterHours (48), alice's unanswered request can no longer be approved.
    t.cloud.advanceClock(49 * HOUR);
    before = ran();
    const late = await approve(t, 'ops', mine.id);
    expect([late.status, late.body.error?.code]).toEqual([409, 'Expired']);
    expect(ran()).toBe(before + 1);

    // The audit trail: every call that reached the function, allowed or refused, with who; none of the others.
    expect(await eventsOf(t, policy!.id)).toEqual([
      { action: 'create', outcome: 'allowed', code: undefined, principal: 'ecr-steward', changed: undefined },
      {
        action: 'approve',
        outcome: 'refused',
        code: 'NotAnApprover',
        principal: MALLORY,
        changed: undefined,
      },
      { action: 'approve', outcome: 'refused', code: 'BadRequest', principal: OPS, changed: undefined },
      { action: 'approve', outcome: 'allowed', code: undefined, principal: OPS, changed: true },
      { action: 'approve', outcome: 'allowed', code: undefined, principal: OPS, changed: false },
    ]);
    expect(await eventsOf(t, mine.id)).toEqual([
      { action: 'create', outcome: 'allowed', code: undefined, principal: ALICE, changed: undefined },
      { action: 'approve', outcome: 'refused', code: 'SelfApproval', principal: ALICE, changed: undefined },
      { action: 'approve', outcome: 'refused', code: 'Expired', principal: OPS, changed: undefined },
    ]);
    expect(await eventsOf(t, UNKNOWN_ID)).toEqual([
      { action: 'approve', outcome: 'refused', code: 'NotFound', principal: OPS, changed: undefined },
    ]);
    // mallory's refusal names her, where she called from and with what.
    const [malloryEvent] = (await requestEvents(t.doc, t.tables.audit, policy!.id)).filter(
      (e) => e.principal === MALLORY,
    );
    expect(malloryEvent).toMatchObject({
      requestId: policy!.id,
      action: 'approve',
      outcome: 'refused',
      code: 'NotAnApprover',
      sourceIp: '127.0.0.1',
      userAgent: USER_AGENT,
      state: 'PENDING_APPROVAL',
      repository,
    });
    expect(malloryEvent!.note).toContain(`${MALLORY} may not approve ${policy!.id}`);
    figures('approvals-matrix', {
      urlCalls: t.cloud.urlCalls.length,
      refusedAtUrl: t.cloud.urlCalls.filter((c) => c.refusal).length,
      invocations: ran(),
      ms: Date.now() - started,
    });
  }, 120_000);

  it("holds a large cleanup for an approval: deletes exactly the approved images when due, keeps a rejected request's and an expired request's images, and tells the teams", async () => {
    // Prepare: three repositories, each pushed to so that its run plans five deletions (over three).
    const started = Date.now();
    const t = await start('approvals-flow');
    const { approvalsTopic } = approvalsEnv(t);
    const names = { approved: 'prod/approved', rejected: 'prod/rejected', unanswered: 'prod/unanswered' };
    const repos = {
      approved: await repositoryWithFiveToGo(t, names.approved),
      rejected: await repositoryWithFiveToGo(t, names.rejected),
      unanswered: await repositoryWithFiveToGo(t, names.unanswered),
    };
    await t.cloud.settle();

    // Assess: one request per repository, pending, with exactly the planned digests; the notices name it.
    const requests: Record<keyof typeof names, DeletionRequestRecord> = {} as never;
    for (const key of Object.keys(names) as (keyof typeof names)[]) {
      const repository = names[key];
      const stored = await requestsOf(t, repository);
      expect(stored, repository).toHaveLength(1);
      const r = stored[0]!;
      requests[key] = r;
      expect(r).toMatchObject({
        kind: 'delete',
        state: 'PENDING_APPROVAL',
        repository,
        selection: 'prod',
        imageCount: 5,
        requester: { type: 'ecr-steward' },
      });
      expect(r.images.map((i) => i.digest).sort()).toEqual(repos[key].planned);
      expect(Date.parse(r.expiresAt) - Date.parse(r.createdAt)).toBe(48 * HOUR);
      const records = await imageRecords(t, repository);
      expect([...records.keys()].sort()).toEqual(repos[key].planned);
      for (const [digest, [record, ...more]] of records) {
        expect(more, digest).toEqual([]);
        expect(record).toMatchObject({ status: 'SCHEDULED', requestId: r.id, evidence: ['steward-notice'] });
        // The notice period runs from the run that asked: due 24 hours after the request was created.
        expect(Date.parse(record!.dueAt!) - Date.parse(r.createdAt)).toBe(24 * HOUR);
      }
    }
    // One approvals message per request, exactly as approvalMessage writes it, naming the approve command.
    const asked = messagesOn(t, approvalsTopic);
    expect(asked).toHaveLength(3);
    for (const r of Object.values(requests)) {
      const dueAt = new Date(Date.parse(r.createdAt) + 24 * HOUR).toISOString();
      const expected = approvalMessage(r, { dueAt });
      const sent = asked.filter((m) => m.message.includes(`Request:    ${r.id}`));
      expect(sent.map((m) => [m.subject, m.message])).toEqual([[expected.subject, expected.message]]);
      expect(sent[0]!.message).toContain(`ecr-steward approve ${r.id}`);
      expect(sent[0]!.subject).toMatch(/^ECR Steward: approval needed to delete 5 images \(.+\) in prod\//);
    }
    const noticesAtPush = messagesOn(t, t.topics.notices).length;
    expect(noticesAtPush).toBe(3);

    // Act: 25 hours pass (every notice is due), unanswered so far; the processor runs.
    t.cloud.advanceClock(25 * HOUR);
    await processDue(t);

    // Assess: nothing is deleted while the requests wait; every notice stands, and the processor does not even
    // run the repositories (their due notices only wait for an answer).
    for (const key of Object.keys(names) as (keyof typeof names)[]) {
      expect(workerReports(t, names[key]).filter((w) => w.trigger === 'sweep')).toEqual([]);
      expect(await describedDigests(t, names[key]), names[key]).toEqual(
        [...repos[key].seeded, repos[key].pushed].sort(),
      );
      expect(await statuses(t, names[key])).toEqual(allOf(repos[key].planned, 'SCHEDULED'));
    }

    // Act: ops approves one request and rejects another with a reason; the processor runs again.
    const approved = await approve(t, 'ops', requests.approved.id, 'checked with the team');
    expect([approved.status, approved.body.changed]).toEqual([200, true]);
    const rejected = await reject(t, 'ops', requests.rejected.id, 'the team still needs those builds');
    expect([rejected.status, rejected.body.changed, rejected.body.request?.state]).toEqual([
      200,
      true,
      'REJECTED',
    ]);
    await processDue(t);

    // Assess: exactly the approved request's images are gone, each with one DELETED record naming the request.
    const a = repos.approved;
    expect(await describedDigests(t, names.approved)).toEqual([...a.seeded.slice(5), a.pushed].sort());
    expect(await statuses(t, names.approved)).toEqual(allOf(a.planned, 'DELETED'));
    for (const [, [record]] of await imageRecords(t, names.approved))
      expect(record).toMatchObject({ requestId: requests.approved.id, actor: { type: 'ecr-steward' } });
    // The rejected request's images all stay, their notices CANCELLED with the reason.
    const r = repos.rejected;
    expect(await describedDigests(t, names.rejected)).toEqual([...r.seeded, r.pushed].sort());
    expect(await statuses(t, names.rejected)).toEqual(allOf(r.planned, 'CANCELLED'));
    for (const [, [record]] of await imageRecords(t, names.rejected))
      expect(record).toMatchObject({
        requestId: requests.rejected.id,
        note: `request ${requests.rejected.id} was rejected: kept`,
      });
    // The teams heard of the rejection on the notices topic, exactly as refusalNotice says it.
    const storedRejection = (await requestsTable(t)).get(requests.rejected.id)!;
    expect(storedRejection).toMatchObject({
      state: 'REJECTED',
      decision: { action: 'reject', by: OPS, reason: 'the team still needs those builds' },
    });
    const rejectionNotice = refusalNotice(storedRejection);
    expect(
      messagesOn(t, t.topics.notices)
        .slice(noticesAtPush)
        .map((m) => [m.subject, m.message]),
    ).toEqual([[rejectionNotice.subject, rejectionNotice.message]]);
    // The unanswered one still waits.
    expect(await statuses(t, names.unanswered)).toEqual(allOf(repos.unanswered.planned, 'SCHEDULED'));

    // Act: the request window (48 hours from the push) passes unanswered; the processor runs.
    const expiresAt = Date.parse(requests.unanswered.expiresAt);
    t.cloud.advanceClock(expiresAt + 60_000 - t.cloud.now().getTime());
    await processDue(t);

    // Assess: the request is EXPIRED (table and audit), the teams are told, and its images stay.
    const u = repos.unanswered;
    const expired = (await requestsTable(t)).get(requests.unanswered.id)!;
    expect(expired).toMatchObject({ state: 'EXPIRED', decision: { action: 'expire', by: 'ecr-steward' } });
    expect(
      (await eventsOf(t, requests.unanswered.id)).map((e) => [e.action, e.outcome, e.principal]),
    ).toEqual([
      ['create', 'allowed', 'ecr-steward'],
      ['expire', 'allowed', 'ecr-steward'],
    ]);
    const expiryNotice = refusalNotice(expired);
    expect(expiryNotice.subject).toContain('expired');
    expect(
      messagesOn(t, t.topics.notices)
        .slice(noticesAtPush + 1)
        .map((m) => [m.subject, m.message]),
    ).toEqual([[expiryNotice.subject, expiryNotice.message]]);
    expect(await describedDigests(t, names.unanswered)).toEqual([...u.seeded, u.pushed].sort());
    expect(await statuses(t, names.unanswered)).toEqual(allOf(u.planned, 'CANCELLED'));
    // Nothing else moved: the rejected repository is whole, the approved one lost only its five.
    expect(await describedDigests(t, names.rejected)).toEqual([...r.seeded, r.pushed].sort());
    expect(await statuses(t, names.approved)).toEqual(allOf(a.planned, 'DELETED'));
    expect(messagesOn(t, approvalsTopic)).toHaveLength(3);
    expect(deadLetters(t)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });
    figures('approvals-flow', {
      requests: 3,
      deleted: a.planned.length,
      notices: messagesOn(t, t.topics.notices).length,
      ms: Date.now() - started,
    });
  }, 120_000);

  it('deletes no image of a rejected or a pending request, and each approved image exactly once, under 20% throttling of ECR, DynamoDB and SQS with duplicated and reordered push events', async () => {
    // Prepare: three repositories whose push plans five deletions each; then the faults start.
    const started = Date.now();
    const phases: Record<string, number> = {};
    const mark = (phase: string) => {
      phases[phase] = Date.now() - started;
    };
    const faults = new FaultInjector({ seed: 20_261_230 });
    const t = await start('approvals-faults', faults);
    mark('booted');
    const queue = t.cloud.queues.get(t.queues.cleanup)!;
    const names = { approved: 'prod/ok', rejected: 'prod/no', pending: 'prod/wait' };
    const keys = Object.keys(names) as (keyof typeof names)[];
    const base = faults.snapshot();
    for (const op of ['ecr:*', 'dynamodb:*', 'sqs:*']) faults.set(op, { throttleRate: 0.2 });
    const repos = {} as Record<keyof typeof names, Awaited<ReturnType<typeof repositoryWithFiveToGo>>>;
    for (const key of keys) repos[key] = await repositoryWithFiveToGo(t, names[key]);
    mark('pushed');

    // Act: every push event is delivered twice (EventBridge is at-least-once; the FIFO queue drops the copy).
    // In the repositories whose images must stay, the newest image is then re-tagged (another push event, the
    // same plan) and the first push event arrives once more after it, past the deduplication window: the
    // worker sees the two events out of order.
    for (const key of keys) t.cloud.publish(pushEventOf(t, repos[key].pushed));
    // (Settled between the steps: the worker coalesces the messages of one repository that share a batch.)
    await t.cloud.settle(60_000);
    const reordered = ['rejected', 'pending'] as const;
    for (const key of reordered) await retag(t, names[key], repos[key].pushed, 'release-1');
    await t.cloud.settle(60_000);
    for (const key of reordered) {
      const event = pushEventOf(t, repos[key].pushed);
      queue.send(JSON.stringify(event), {
        groupId: messageGroupId(names[key]),
        deduplicationId: dedupId(`${event.id}#late`),
      });
    }
    await t.cloud.settle(60_000);
    expect(queue.deduplicated).toBeGreaterThanOrEqual(keys.length);
    // However often and in whatever order the events came, each repository has one request.
    for (const key of keys) expect(await requestsOf(t, names[key]), names[key]).toHaveLength(1);
    for (const key of reordered) {
      const runs = await waitFor(`three runs of ${names[key]}`, () => {
        const r = workerReports(t, names[key]);
        return r.length >= 3 && r;
      });
      expect(runs.map((r) => [r.trigger, r.outcome, r.scheduled, r.awaitingApproval])).toEqual([
        ['push', 'done', 5, 0],
        ['push', 'done', 0, 5],
        ['push', 'done', 0, 5],
      ]);
    }
    mark('events');

    // The operators answer over signed HTTP (a 5xx, should the function's own retries run out, is sent again):
    // one request approved, one rejected, the third left pending.
    const [approvedId, rejectedId, pendingId] = await Promise.all(
      keys.map(async (key) => (await requestsOf(t, names[key]))[0]!.id),
    );
    const answered = async (send: () => Promise<Reply>) => {
      let reply = await send();
      for (let attempt = 0; reply.status >= 500 && attempt < 5; attempt++) reply = await send();
      expect([reply.status, reply.body.changed], JSON.stringify(reply.body)).toEqual([200, true]);
    };
    await answered(() => approve(t, 'ops', approvedId!, 'go ahead'));
    await answered(() => reject(t, 'ops', rejectedId!, 'keep them'));
    mark('answers');

    // Act: the notices fall due. The processor runs, then the sweep (which plans every repository again), and
    // the processor again two hours later, and once more while an approved image is left (at most five runs).
    t.cloud.advanceClock(25 * HOUR);
    const schedules = ['CleanupDueDeletionSchedule', 'CleanupSweepSchedule', 'CleanupDueDeletionSchedule'];
    const approvedLeft = () => repos.approved.planned.some((d) => present(t, names.approved).has(d));
    let rounds = 0;
    while (rounds < schedules.length || (rounds < 5 && approvedLeft())) {
      await t.cloud.runSchedule(schedules[rounds] ?? 'CleanupDueDeletionSchedule');
      await t.cloud.settle(60_000);
      rounds++;
      t.cloud.advanceClock(2 * HOUR);
    }
    mark('due runs');
    const throttledOf = (prefix: string) =>
      Object.entries(faults.snapshot())
        .filter(([op]) => op.startsWith(prefix))
        .reduce((n, [op, c]) => n + c.throttled - (base[op]?.throttled ?? 0), 0);
    const throttled = {
      ecr: throttledOf('ecr:'),
      dynamodb: throttledOf('dynamodb:'),
      sqs: throttledOf('sqs:'),
    };
    faults.clear();

    // Assess: the faults were there, on all three services.
    expect(throttled.ecr).toBeGreaterThan(0);
    expect(throttled.dynamodb).toBeGreaterThan(0);
    expect(throttled.sqs).toBeGreaterThan(0);
    const deleteEvents = (repository: string) =>
      t.ecrEvents
        .filter((e) => e.detail['action-type'] === 'DELETE' && e.detail['repository-name'] === repository)
        .map((e) => String(e.detail['image-digest']))
        .sort();
    // The rejected and the pending repositories are whole: every digest as DescribeImages shows it, no DELETE
    // event from ECR, no DELETED (or in-flight) record.
    for (const key of ['rejected', 'pending'] as const) {
      const repo = repos[key];
      expect(await describedDigests(t, names[key]), names[key]).toEqual([...repo.seeded, repo.pushed].sort());
      expect(deleteEvents(names[key]), names[key]).toEqual([]);
      const records = [...(await imageRecords(t, names[key])).values()].flat();
      expect(
        records.filter((r) => ['DELETED', 'PENDING', 'FAILED'].includes(r.status)),
        names[key],
      ).toEqual([]);
    }
    expect(await statuses(t, names.rejected)).toEqual(allOf(repos.rejected.planned, 'CANCELLED'));
    expect(await statuses(t, names.pending)).toEqual(allOf(repos.pending.planned, 'SCHEDULED'));
    const table = await requestsTable(t);
    expect([
      table.get(approvedId!)?.state,
      table.get(rejectedId!)?.state,
      table.get(pendingId!)?.state,
    ]).toEqual(['APPROVED', 'REJECTED', 'PENDING_APPROVAL']);
    // The approved images are gone, each deleted once (one DELETE event, one DELETED record); the rest stay.
    const a = repos.approved;
    expect(await describedDigests(t, names.approved)).toEqual([...a.seeded.slice(5), a.pushed].sort());
    expect(deleteEvents(names.approved)).toEqual(a.planned);
    expect(await statuses(t, names.approved)).toEqual(allOf(a.planned, 'DELETED'));
    for (const [, [record]] of await imageRecords(t, names.approved))
      expect(record!.requestId).toBe(approvedId);
    expect(deadLetters(t)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });
    figures('approvals-faults', {
      deduplicated: queue.deduplicated,
      rounds,
      throttled,
      workerRuns: keys.map((k) =>
        workerReports(t, names[k])
          .map((r) => `${r.trigger}:${r.outcome}`)
          .join(','),
      ),
      phases,
      ms: Date.now() - started,
    });
  }, 180_000);

  it('does not run a repository again every 15 minutes while its due notices only wait for an answer', async () => {
    // Prepare
    const t = await start('approvals-requeue');
    await repositoryWithFiveToGo(t, 'prod/waiting');
    await t.cloud.settle();
    t.cloud.advanceClock(25 * HOUR);
    await processDue(t);
    const runs = workerReports(t, 'prod/waiting').length;

    // Act
    t.cloud.advanceClock(15 * 60_000);
    await processDue(t);
    await t.cloud.settle();

    // Assess
    expect(workerReports(t, 'prod/waiting')).toHaveLength(runs);
  }, 120_000);
});
