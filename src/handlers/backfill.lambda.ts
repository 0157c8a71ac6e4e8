import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createBackfillHandler } from '../runtime/backfill/backfill-handler';
import { readBackfillSettings } from '../runtime/contract/replication-environment';
import { createTelemetry } from '../runtime/contract/telemetry';

const settings = readBackfillSettings(process.env);

export const handler = createBackfillHandler(
  settings,
  { s3: new S3Client({}), sqs: new SQSClient({}), dynamodb: new DynamoDBClient({}), secretsManager: new SecretsManagerClient({}) },
  createTelemetry('backfill', { replication: settings }),
);
