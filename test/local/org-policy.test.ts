import { describe, expect, it } from 'vitest';
import { EventsService } from '../../local/events-service.js';
import {
  accountOfAccessKey,
  credentialScope,
  evaluateResourcePolicy,
  leadingKeys,
  organizationOf,
} from '../../local/front-door.js';
import type { RawRequest } from '../../local/server.js';
import type { PolicyStatement } from '../../local/template.js';

const ORG_BREAKER_READ: PolicyStatement = {
  Sid: 'OrgBreakerRead',
  Effect: 'Allow',
  Principal: { AWS: '*' },
  Action: 'dynamodb:GetItem',
  Condition: {
    StringEquals: { 'aws:PrincipalOrgID': 'o-local0example' },
    'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['BREAKER#organization'] },
  },
};

describe('evaluateResourcePolicy', () => {
  it('allows an organization member the allowed action on the allowed leading key', () => {
    // Prepare
    const req = {
      callerAccount: '222222222222',
      callerOrgId: 'o-local0example',
      action: 'dynamodb:GetItem',
      context: { 'dynamodb:LeadingKeys': ['BREAKER#organization'] },
    };

    // Act
    const outcome = evaluateResourcePolicy([ORG_BREAKER_READ], req);

    // Assess
    expect(outcome).toEqual({ allowed: true, sid: 'OrgBreakerRead' });
  });

  it('denies when the leading key, the action or the organization does not match', () => {
    // Prepare
    const base = {
      callerAccount: '222222222222',
      callerOrgId: 'o-local0example',
      action: 'dynamodb:GetItem',
      context: { 'dynamodb:LeadingKeys': ['BREAKER#organization'] },
    };

    // Act
    const outcomes = [
      { ...base, context: { 'dynamodb:LeadingKeys': ['SECRET'] } },
      { ...base, action: 'dynamodb:PutItem' },
      { ...base, callerOrgId: undefined },
    ].map((req) => evaluateResourcePolicy([ORG_BREAKER_READ], req).allowed);

    // Assess
    expect(outcomes).toEqual([false, false, false]);
  });

  it('admits listed principal accounts and lets an explicit deny win', () => {
    // Prepare
    const statements: PolicyStatement[] = [
      {
        Effect: 'Allow',
        Principal: { AWS: ['arn:aws:iam::222222222222:root', '333333333333'] },
        Action: 'events:*',
      },
      {
        Sid: 'no',
        Effect: 'Deny',
        Principal: '*',
        Action: 'events:PutEvents',
        Condition: { StringEquals: { 'aws:PrincipalAccount': '333333333333' } },
      },
    ];
    const put = (callerAccount: string) =>
      evaluateResourcePolicy(statements, { callerAccount, action: 'events:PutEvents' });

    // Act
    const outcomes = ['222222222222', '333333333333', '444444444444'].map(put);

    // Assess
    expect(outcomes).toEqual([
      { allowed: true },
      { allowed: false, sid: 'no', explicitDeny: true },
      { allowed: false },
    ]);
  });
});

describe('leadingKeys', () => {
  it('reads the partition key values of key operations and of a Query key condition', () => {
    // Prepare
    const pk = () => 'pk';

    // Act
    const get = leadingKeys('GetItem', { TableName: 't', Key: { pk: { S: 'A' }, sk: { S: 'x' } } }, pk);
    const query = leadingKeys(
      'Query',
      {
        TableName: 't',
        KeyConditionExpression: '#p = :v AND begins_with(sk, :s)',
        ExpressionAttributeNames: { '#p': 'pk' },
        ExpressionAttributeValues: { ':v': { S: 'B' }, ':s': { S: 'x' } },
      },
      pk,
    );
    const scan = leadingKeys('Scan', { TableName: 't' }, pk);

    // Assess
    expect([get, query, scan]).toEqual([['A'], ['B'], []]);
  });
});

describe('credentialScope', () => {
  it('reads the access key, region and service of a SigV4 Authorization header', () => {
    // Prepare
    const header =
      'AWS4-HMAC-SHA256 Credential=LOCAL222222222222/20260601/eu-west-1/events/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc';

    // Act
    const scope = credentialScope(header);

    // Assess
    expect(scope).toEqual({ accessKeyId: 'LOCAL222222222222', region: 'eu-west-1', service: 'events' });
    expect(accountOfAccessKey(scope?.accessKeyId)).toBe('222222222222');
    expect(accountOfAccessKey('AKIALOCAL0ALICE00001')).toBeUndefined();
  });
});

describe('EventsService', () => {
  const raw = (account: string): RawRequest => ({
    path: '/',
    method: 'POST',
    headers: {
      authorization: `AWS4-HMAC-SHA256 Credential=LOCAL${account}/20260601/eu-west-1/events/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: '',
    query: new URLSearchParams(),
  });
  const service = (delivered: unknown[]) =>
    new EventsService({
      account: '111111111111',
      region: 'eu-west-1',
      buses: new Map([
        ['default', []],
        ['org', []],
      ]),
      organization: organizationOf(['111111111111']),
      now: () => new Date('2026-06-01T12:00:00.123Z'),
      deliver: (bus, event) => delivered.push({ bus, event }),
    });
  const entry = { Source: 'ecr-steward', DetailType: 'T', Detail: '{"a":1}', EventBusName: 'org' };

  it('refuses more than 10 entries with a request-level ValidationException', async () => {
    // Prepare
    const events = service([]);

    // Act
    const error = await events
      .handle('PutEvents', { Entries: Array.from({ length: 11 }, () => entry) }, raw('111111111111'))
      .catch((e: Error) => e);

    // Assess
    expect(error).toMatchObject({ code: 'ValidationException' });
  });

  it('answers each entry on its own: accepted events delivered with id, time, account and region', async () => {
    // Prepare
    const delivered: { bus: string; event: Record<string, unknown> }[] = [];
    const events = service(delivered);

    // Act
    const out = (await events.handle(
      'PutEvents',
      {
        Entries: [
          entry,
          { ...entry, Detail: 'not json' },
          { ...entry, EventBusName: 'nope' },
          { ...entry, Source: undefined },
        ],
      },
      raw('111111111111'),
    )) as { body: { FailedEntryCount: number; Entries: Record<string, string>[] } };

    // Assess
    expect(out.body.FailedEntryCount).toBe(3);
    expect(out.body.Entries.slice(1)).toEqual([
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'ResourceNotFoundException', ErrorMessage: 'Event bus nope does not exist.' },
      {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.',
      },
    ]);
    expect(delivered).toEqual([
      {
        bus: 'org',
        event: {
          version: '0',
          id: out.body.Entries[0]!.EventId,
          'detail-type': 'T',
          source: 'ecr-steward',
          account: '111111111111',
          time: '2026-06-01T12:00:00Z',
          region: 'eu-west-1',
          resources: [],
          detail: { a: 1 },
        },
      },
    ]);
  });
});
