/**
 * The organization functions' SDK clients, built once per container with the clients' shared settings
 * (endpoints follow AWS_ENDPOINT_URL(_<SERVICE>), as every ECR Steward client does). Tests replace them.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../shared/audit/store.js';
import { CLIENT_DEFAULTS } from '../shared/runtime/clients.js';

export interface OrgClients {
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly doc: DynamoDBDocumentClient;
}

let shared: { -readonly [K in keyof OrgClients]?: OrgClients[K] } = {};
let eventsByRegion = new Map<string, EventBridgeClient>();

/**
 * An EventBridge client for the region of a bus ARN: PutEvents to the hub bus goes to the hub's regional
 * endpoint, whatever region the spoke runs in. Endpoint overrides (the local cloud) still apply.
 */
export function eventsClientFor(busArn: string): EventBridgeClient {
  const region = busArn.split(':')[3] || undefined;
  const key = region ?? '';
  let client = eventsByRegion.get(key);
  if (!client) {
    client = new EventBridgeClient({ ...CLIENT_DEFAULTS, ...(region ? { region } : {}) });
    eventsByRegion.set(key, client);
  }
  return client;
}

/** The container's clients, each built on first use. */
export const orgClients = {
  get sns(): SNSClient {
    shared.sns ??= new SNSClient(CLIENT_DEFAULTS);
    return shared.sns;
  },
  get sqs(): SQSClient {
    shared.sqs ??= new SQSClient(CLIENT_DEFAULTS);
    return shared.sqs;
  },
  get doc(): DynamoDBDocumentClient {
    shared.doc ??= documentClient();
    return shared.doc;
  },
} satisfies OrgClients;

/** Forgets the built clients (tests that change endpoints between files). */
export function resetOrgClients(): void {
  shared = {};
  eventsByRegion = new Map();
}
