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
  readonly events: EventBridgeClient;
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly doc: DynamoDBDocumentClient;
}

let shared: { -readonly [K in keyof OrgClients]?: OrgClients[K] } = {};

/** The container's clients, each built on first use. */
export const orgClients = {
  get events(): EventBridgeClient {
    shared.events ??= new EventBridgeClient(CLIENT_DEFAULTS);
    return shared.events;
  },
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
}
