/**
 * The digest's reads and writes that no shared store offers: a week of the audit table's byDay index with only
 * the attributes the digest counts, the scan gate's FAIL verdicts of a week, the once-markers (with a read of
 * whether a run is done) and SNS publishing. The only digest code that talks to AWS.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { AUDIT_INDEXES } from '../shared/audit/store.js';
import type { GateFailure } from '../shared/digest/message.js';
import type { Notice } from '../shared/governance/notice.js';
import { OnceMarkers } from '../shared/org/org-breaker.js';
import type { DigestPorts, DigestRecord, MarkerKey } from './core.js';

const DAY_MS = 86_400_000;

/**
 * The records of the audit table whose state began at or after `since`, read from the byDay index one UTC day
 * at a time up to `until`'s day, every page, projected to what the digest counts.
 */
export async function auditRecordsSince(
  doc: DynamoDBDocumentClient,
  tableName: string,
  since: string,
  until: Date,
  onPage: (records: readonly DigestRecord[]) => void,
): Promise<void> {
  const last = Date.parse(until.toISOString().slice(0, 10));
  for (let day = Date.parse(since.slice(0, 10)); day <= last; day += DAY_MS) {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: AUDIT_INDEXES.byDay,
          KeyConditionExpression: 'gsi3pk = :pk AND gsi3sk >= :since',
          ExpressionAttributeValues: {
            ':pk': `DAY#${new Date(day).toISOString().slice(0, 10)}`,
            ':since': since,
          },
          ProjectionExpression:
            'repository, #status, dryRun, #at, archivedAt, restoredAt, sizeBytes, actor.#type',
          ExpressionAttributeNames: { '#status': 'status', '#at': 'at', '#type': 'type' },
          ExclusiveStartKey,
        }),
      );
      onPage(
        (page.Items ?? []).map((item) => ({
          repository: String(item.repository),
          status: item.status,
          dryRun: item.dryRun === true,
          at: String(item.at),
          archivedAt: item.archivedAt,
          restoredAt: item.restoredAt,
          sizeBytes: typeof item.sizeBytes === 'number' ? item.sizeBytes : undefined,
          actorType: item.actor?.type,
        })),
      );
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }
}

/**
 * The images whose verdict was FAIL in `[since, until)`, each once with its latest FAIL there, newest first.
 * The verdict table has no index by time, so its history items (`sk = AT#<time>#<event>`) are scanned with a
 * filter: once a week, and the table holds one item per scan of an image.
 */
export async function gateFailuresBetween(
  doc: DynamoDBDocumentClient,
  tableName: string,
  since: string,
  until: string,
): Promise<GateFailure[]> {
  const latest = new Map<string, GateFailure>();
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'begins_with(sk, :history) AND verdict = :fail AND #at >= :since AND #at < :until',
        ExpressionAttributeNames: { '#at': 'at' },
        ExpressionAttributeValues: { ':history': 'AT#', ':fail': 'FAIL', ':since': since, ':until': until },
        ProjectionExpression: 'pk, repository, digest, tags, summary, #at',
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const failure: GateFailure = {
        repository: String(item.repository),
        digest: String(item.digest),
        tags: Array.isArray(item.tags) ? item.tags.map(String) : [],
        summary: String(item.summary ?? 'FAIL'),
        at: String(item.at),
      };
      const known = latest.get(String(item.pk));
      if (!known || known.at < failure.at) latest.set(String(item.pk), failure);
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return [...latest.values()].sort((a, b) => b.at.localeCompare(a.at));
}

/** The digest's once-markers in the state table: OnceMarkers, and a read of whether a marker is done. */
export function digestMarkers(doc: DynamoDBDocumentClient, stateTable: string): DigestPorts['markers'] {
  const markers = new OnceMarkers(doc, stateTable);
  return {
    isDone: async (key: MarkerKey) => {
      const out = await doc.send(new GetCommand({ TableName: stateTable, Key: key, ConsistentRead: true }));
      return out.Item?.state === 'done';
    },
    claim: (key, now, expiresAt) => markers.claim(key, now, expiresAt),
    done: (key) => markers.done(key),
  };
}

/** Publishes a digest to the notices or the alerts topic, with its subject and message attributes. */
export function snsPublisher(
  sns: SNSClient,
  topics: { readonly notices: string; readonly alerts: string },
): DigestPorts['publish'] {
  return async (topic: 'notices' | 'alerts', message: Notice) => {
    await sns.send(
      new PublishCommand({
        TopicArn: topics[topic],
        Subject: message.subject,
        Message: message.message,
        MessageAttributes: message.attributes,
      }),
    );
  };
}
