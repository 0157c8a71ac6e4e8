import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readReplicatorSettings } from './runtime/replication-environment';
import { createReplicatorHandler } from './runtime/replicator-handler';
import { createTelemetry } from './runtime/telemetry';

export const handler = createReplicatorHandler(
  readReplicatorSettings(process.env),
  { s3: new S3Client({}), dynamodb: new DynamoDBClient({}), secretsManager: new SecretsManagerClient({}) },
  createTelemetry('replicator'),
);
