import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { BackfillRuns } from '../runtime/backfill/backfill-runs';
import { readReplicatorSettings } from '../runtime/contract/replication-environment';
import { createTelemetry } from '../runtime/contract/telemetry';
import { copyMemoryBudget, createReplicatorHandler } from '../runtime/replication/replicator-handler';

const settings = readReplicatorSettings(process.env);
const dynamodb = new DynamoDBClient({});

export const handler = createReplicatorHandler(
  settings,
  { s3: new S3Client({}), dynamodb, secretsManager: new SecretsManagerClient({}), sqs: new SQSClient({}) },
  createTelemetry('replicator', { replication: settings }),
  // Lambda sets the function's memory size; the part buffers take half of it.
  { memoryBudget: copyMemoryBudget(Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? 1024)) },
  // The outcomes of a backfill run's messages go into its report.
  new BackfillRuns(dynamodb, settings.tableName),
);
