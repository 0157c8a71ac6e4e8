import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BucketLocationConstraint, CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SOURCE_REGION } from './partitions';
import { queueReceiveLimit } from '../../../src/private/queue-defaults';

/**
 * The replication fixture's resources as the construct deploys them: in the source partition a
 * versioned bucket, the version table, the FIFO queue with its FIFO dead-letter queue and the
 * credentials secret; in the destination partition a versioned bucket.
 */

/** The replicator's `maxReceiveCount` in the fixture. */
export const FIXTURE_MAX_RECEIVE_COUNT = 3;

/** The ARN of a queue of the source partition, by name. */
export function sourceQueueArn(queueName: string): string {
  return `arn:aws:sqs:${SOURCE_REGION}:123456789012:${queueName}`;
}

/** Creates a bucket with versioning enabled (`region`: a LocationConstraint, for the destination). */
export async function createVersionedBucket(s3: S3Client, bucket: string, region?: BucketLocationConstraint): Promise<void> {
  await s3.send(new CreateBucketCommand({
    Bucket: bucket,
    ...(region ? { CreateBucketConfiguration: { LocationConstraint: region } } : {}),
  }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
}

/** Creates the version table (the version map and the backfill runs share it). */
export async function createVersionTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  await dynamodb.send(new CreateTableCommand({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
  }));
}

/**
 * Creates the FIFO replication queue `<id>.fifo` and its FIFO dead-letter queue `<id>-dlq.fifo`,
 * with a redrive policy as the backstop; returns both URLs.
 */
export async function createReplicationQueues(sqs: SQSClient, id: string): Promise<{ queueUrl: string; deadLetterQueueUrl: string }> {
  const fifo = { FifoQueue: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' };
  const deadLetters = await sqs.send(new CreateQueueCommand({ QueueName: `${id}-dlq.fifo`, Attributes: fifo }));
  const queue = await sqs.send(new CreateQueueCommand({
    QueueName: `${id}.fifo`,
    Attributes: {
      ...fifo,
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: sourceQueueArn(`${id}-dlq.fifo`),
        maxReceiveCount: queueReceiveLimit(FIXTURE_MAX_RECEIVE_COUNT),
      }),
    },
  }));
  return { queueUrl: queue.QueueUrl!, deadLetterQueueUrl: deadLetters.QueueUrl! };
}

/** Creates the credentials secret `<id>/destination-credentials`; returns its ARN. */
export async function createCredentialsSecret(secretsManager: SecretsManagerClient, id: string, value: Record<string, string>): Promise<string> {
  const secret = await secretsManager.send(new CreateSecretCommand({
    Name: `${id}/destination-credentials`,
    SecretString: JSON.stringify(value),
  }));
  return secret.ARN!;
}
