import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { VERDICT_INDEXES } from '../../functions/scan-gate/verdicts.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { ENV, EVENTS } from '../../functions/shared/runtime/constants.js';
import { acknowledge, nagArnRef, nagRepositoryArn, wildcardResource } from '../nag.js';
import { grantAuditRecords, grantHoldReads, grantRequestRecords } from './audit-tables.js';
import { actionNames, managedScope } from './managed-scope.js';
import { DeadLetterQueue } from './secure-queue.js';
import { StewardFunction } from './steward-function.js';
import { sweepSchedule } from './sweep-schedule.js';

export interface ScanGateProps {
  readonly config: StewardConfig;
  readonly auditTable: dynamodb.ITableV2;
  readonly stateTable: dynamodb.ITableV2;
  /** Holds placed from the CLI: a removal or quarantine expiry keeps a held image. Read only. */
  readonly holdsTable: dynamodb.ITableV2;
  readonly securityTopic: sns.ITopic;
  readonly alertsTopic: sns.ITopic;
  /** Deletion notices: a gate removal under a notice period is announced there, like the cleanup's. */
  readonly noticesTopic?: sns.ITopic;
  /** Deletion requests: a gate removal that needs an approval opens one, announced on the approvals topic. */
  readonly requestsTable?: dynamodb.ITableV2;
  readonly approvalsTopic?: sns.ITopic;
}

/** The scan events the gate judges. */
export const SCAN_PATTERNS = {
  basicScan: {
    source: [EVENTS.ecrSource],
    detailType: [EVENTS.imageScan],
    detail: { 'scan-status': ['COMPLETE', 'FAILED'] },
  },
  // Inspector also scans EC2 instances and Lambda functions; only ECR scans name a repository.
  inspectorScan: {
    source: [EVENTS.inspectorSource],
    detailType: [EVENTS.inspectorScan],
    detail: { 'repository-name': [{ exists: true }] },
  },
  inspectorFinding: {
    source: [EVENTS.inspectorSource],
    detailType: [EVENTS.inspectorFinding],
    detail: { resources: { type: ['AWS_ECR_CONTAINER_IMAGE'] } },
  },
} satisfies Record<string, events.EventPattern>;

/**
 * When a gate policy requires signatures, the arrival of a signature re-judges its subject: an OCI 1.1 referrer
 * (`ECR Referrer Action` PUSH) or cosign's `sha256-<hex>.sig` tag (an `ECR Image Action` PUSH with that tag).
 */
export const SIGNATURE_PATTERNS = {
  referrerPush: {
    source: [EVENTS.ecrSource],
    detailType: [EVENTS.referrerAction],
    detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
  },
  // A cosign signature pushed, or deleted (revoked): its image is judged again either way.
  cosignTagPush: {
    source: [EVENTS.ecrSource],
    detailType: [EVENTS.imageAction],
    detail: {
      'action-type': ['PUSH', 'DELETE'],
      result: ['SUCCESS'],
      'image-tag': [{ wildcard: 'sha256-*.sig' }],
    },
  },
} satisfies Record<string, events.EventPattern>;

/** Whether any gate policy (the default or a selection's) requires signatures. */
export function signaturesRequired(config: StewardConfig): boolean {
  const gate = config.gate;
  return (
    gate.policy.signatures?.required === true ||
    gate.selections.some((s) => s.policy?.signatures?.required === true)
  );
}

/**
 * Scan gate: every completed scan (basic or Inspector) and every Inspector finding change gets the image
 * a verdict in the verdict table; failures are notified on the security topic, quarantined or removed.
 */
export class ScanGate extends Construct {
  readonly verdictTable: dynamodb.TableV2;
  readonly function: StewardFunction;
  readonly rules: Record<keyof typeof SCAN_PATTERNS, events.Rule>;
  /** Re-judge an image when its signature arrives; only when a gate policy requires signatures. */
  readonly signatureRules?: Record<keyof typeof SIGNATURE_PATTERNS, events.Rule>;
  /** Starts the quarantine expiry; only when the config gives quarantines an expiry. */
  readonly expirySchedule?: scheduler.Schedule;
  /** The registry's scanning configuration; only when the config sets `gate.registryScanning`. */
  readonly registryScanning?: ecr.CfnRegistryScanningConfiguration;

  constructor(scope: Construct, id: string, props: ScanGateProps) {
    super(scope, id);
    const dlq = new DeadLetterQueue(this, 'DeadLetter', {
      alarmTopic: props.alertsTopic,
      description: 'the scan gate',
    });
    this.verdictTable = new dynamodb.TableV2(this, 'Verdicts', {
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      // Sparse: only the LATEST verdict of a quarantined image carries the partition key.
      globalSecondaryIndexes: [
        {
          indexName: VERDICT_INDEXES.quarantined.name,
          partitionKey: {
            name: VERDICT_INDEXES.quarantined.partitionKey,
            type: dynamodb.AttributeType.STRING,
          },
          sortKey: { name: VERDICT_INDEXES.quarantined.sortKey, type: dynamodb.AttributeType.STRING },
        },
      ],
    });
    this.function = new StewardFunction(this, 'Function', {
      entry: 'functions/scan-gate/handler.ts',
      handler: 'handler',
      description: 'ECR Steward scan gate: verdicts on scanned images',
      config: props.config,
      // An expiry run judges up to 100 images; an event judges one.
      timeout: Duration.minutes(5),
      memorySize: 1024,
      reservedConcurrency: StewardFunction.reservedConcurrency(props.config, 'scanGate'),
      onFailureQueue: dlq.queue,
      environment: {
        [ENV.verdictTable]: this.verdictTable.tableName,
        [ENV.auditTable]: props.auditTable.tableName,
        [ENV.stateTable]: props.stateTable.tableName,
        [ENV.holdsTable]: props.holdsTable.tableName,
        [ENV.securityTopic]: props.securityTopic.topicArn,
        ...(props.noticesTopic ? { [ENV.noticesTopic]: props.noticesTopic.topicArn } : {}),
        ...(props.requestsTable ? { [ENV.requestsTable]: props.requestsTable.tableName } : {}),
        ...(props.approvalsTopic ? { [ENV.approvalsTopic]: props.approvalsTopic.topicArn } : {}),
      },
    });
    this.verdictTable.grantReadWriteData(this.function.function);
    grantAuditRecords(props.auditTable, this.function.function);
    props.stateTable.grantReadData(this.function.function);
    grantHoldReads(props.holdsTable, this.function.function);
    props.securityTopic.grantPublish(this.function.function);
    props.noticesTopic?.grantPublish(this.function.function);
    if (props.requestsTable) grantRequestRecords(props.requestsTable, this.function.function);
    props.approvalsTopic?.grantPublish(this.function.function);
    acknowledge(
      this.function.role,
      [
        wildcardResource(`${nagArnRef(props.auditTable)}/index/*`),
        wildcardResource(`${nagArnRef(this.verdictTable)}/index/*`),
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      ],
      "Audit queries use the audit table's own indexes and the quarantine expiry the verdict table's quarantine index; publishing to the encrypted security topic needs GenerateDataKey* on its key only.",
    );

    const onFail = props.config.gate.onFail;
    const expires = onFail.quarantine.enabled && onFail.quarantine.expireAfterDays !== undefined;
    const removes = onFail.remove.enabled || expires;
    // Reads on every scanned repository: a verdict is given wherever ECR or Inspector scans.
    const reads = [
      'ecr:DescribeImageScanFindings',
      'ecr:DescribeImages',
      'ecr:DescribeRepositories',
      'ecr:ListTagsForResource',
      // The manifest: re-put with the quarantine tag, and read to tell a signature artifact (never removed
      // alone, never itself signed) from an image that only carries a tag shaped like one.
      ...(onFail.quarantine.enabled || removes || signaturesRequired(props.config)
        ? ['ecr:BatchGetImage']
        : []),
      // Verifying signatures reads the referrers, their manifests and their signature blobs.
      ...(signaturesRequired(props.config) ? ['ecr:ListImageReferrers', 'ecr:GetDownloadUrlForLayer'] : []),
    ];
    // Writes (the quarantine tag, its removal, removals) only where a selection manages the repository, as the
    // deletion guard decides: the same scope as the cleanup's.
    const writes = [
      ...(onFail.quarantine.enabled ? ['ecr:PutImage', 'ecr:BatchDeleteImage'] : []),
      ...(removes ? ['ecr:BatchDeleteImage'] : []),
    ];
    const managed = managedScope(this, props.config);
    const statements = [
      new iam.PolicyStatement({
        sid: 'ScannedImages',
        actions: [...reads].sort(),
        resources: [StewardFunction.repositoryArn(this, '*')],
      }),
      ...(writes.length > 0 ? managed.statements('GateWrites', writes) : []),
    ];
    if (removes && !onFail.remove.allowInUse) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'InUseSources',
          actions: [
            'ecs:ListClusters',
            'ecs:ListTasks',
            'ecs:DescribeTasks',
            'ecs:ListServices',
            'ecs:DescribeServices',
            'ecs:ListTaskDefinitionFamilies',
            'ecs:ListTaskDefinitions',
            'ecs:DescribeTaskDefinition',
            'lambda:ListFunctions',
            'lambda:ListVersionsByFunction',
            'lambda:GetFunction',
          ],
          resources: ['*'],
        }),
      );
    }
    const inUse = statements.some((s) => s.sid === 'InUseSources');
    const writeWildcards = writes.length > 0 ? managed.nagWildcards : [];
    this.function.addPolicy('GatePolicy', statements, {
      resources: [...new Set([nagRepositoryArn(this, '*'), ...writeWildcards, ...(inUse ? ['*'] : [])])],
      reason: [
        `The gate reads scan findings and image metadata (${actionNames(reads)}) of every repository it may be asked to judge.`,
        writes.length > 0
          ? `${actionNames(writes)} only on ${managed.description} (generated from the config's selections; tag sets are aws:ResourceTag conditions on repository/*).`
          : 'It has no ECR write permission (quarantine and removal are off).',
        ...(inUse
          ? ['In-use reads of ECS and Lambda, before a removal, have no resource-level permissions.']
          : []),
      ].join(' '),
    });

    const target = new targets.LambdaFunction(this.function.function, {
      deadLetterQueue: dlq.queue,
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    });
    const rule = (id: string, description: string, pattern: events.EventPattern) => {
      const r = new events.Rule(this, id, { description, eventPattern: pattern });
      r.addTarget(target);
      return r;
    };
    this.rules = {
      basicScan: rule(
        'BasicScanRule',
        'ECR Steward scan gate: ECR basic scan completed',
        SCAN_PATTERNS.basicScan,
      ),
      inspectorScan: rule(
        'InspectorScanRule',
        'ECR Steward scan gate: Inspector initial scan completed',
        SCAN_PATTERNS.inspectorScan,
      ),
      inspectorFinding: rule(
        'InspectorFindingRule',
        'ECR Steward scan gate: Inspector finding created, updated or closed',
        SCAN_PATTERNS.inspectorFinding,
      ),
    };
    if (signaturesRequired(props.config))
      this.signatureRules = {
        referrerPush: rule(
          'ReferrerPushRule',
          'ECR Steward scan gate: a referrer (signature) was pushed; re-judge its subject',
          SIGNATURE_PATTERNS.referrerPush,
        ),
        cosignTagPush: rule(
          'CosignSignaturePushRule',
          'ECR Steward scan gate: a cosign signature (sha256-<hex>.sig) was pushed or deleted; re-judge its subject',
          SIGNATURE_PATTERNS.cosignTagPush,
        ),
      };

    const scanning = props.config.gate.registryScanning;
    if (scanning) {
      this.registryScanning = new ecr.CfnRegistryScanningConfiguration(this, 'RegistryScanning', {
        scanType: scanning.scanType,
        rules: scanning.rules.map((r) => ({
          scanFrequency: r.scanFrequency,
          repositoryFilters: r.repositories.map((filter) => ({ filter, filterType: 'WILDCARD' })),
        })),
      });
      // Deleting it would revert the registry to basic scanning with no rules: scans would silently stop.
      this.registryScanning.applyRemovalPolicy(RemovalPolicy.RETAIN);
    }

    if (expires) {
      // On the sweep's schedule: an expiry counted in days needs no finer clock.
      this.expirySchedule = sweepSchedule(this, 'QuarantineExpirySchedule', {
        config: props.config,
        purpose: 'the quarantine expiry',
        description: 'ECR Steward: remove images whose quarantine has expired and that still fail the gate',
        fn: this.function.function,
        input: { kind: 'quarantine-expiry' },
        deadLetterQueue: dlq.queue,
      });
    }
  }
}
