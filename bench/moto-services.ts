// The AWS services the engine and the replicator need besides S3 (DynamoDB table, FIFO queue,
// credentials secret), on one moto server on loopback, the same emulator the tests use.
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startMotoServer } from '../test/emulated/emulators/moto-server';

export const MOTO_REGION = 'us-east-1';
const MOTO_CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/** Plain JSON: what a child process needs to reach the moto server. */
export interface MotoAddress {
  readonly endpoint: string;
}

export interface MotoServices extends MotoAddress {
  readonly pid?: number;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<MotoServices> {
  const moto = await startMotoServer('bench');
  // s3-servers.ts kills MinIO on exit; moto's helper doesn't, so an error or Ctrl-C must not leave it behind.
  const killOnExit = () => { moto.process.kill('SIGKILL'); };
  process.on('exit', killOnExit);
  return {
    endpoint: moto.endpoint,
    pid: moto.process.pid,
    stop: async () => {
      process.off('exit', killOnExit);
      await moto.stop();
    },
  };
}

export function motoConfig(moto: MotoAddress) {
  return { region: MOTO_REGION, endpoint: moto.endpoint, credentials: MOTO_CREDENTIALS };
}

export function dynamoDbFor(moto: MotoAddress): DynamoDBClient {
  return new DynamoDBClient(motoConfig(moto));
}

/** A table shaped like the construct's version map (string `pk` HASH, `sk` RANGE), as the checkpoints need. */
export async function createTable(moto: MotoAddress, tableName: string): Promise<void> {
  const client = dynamoDbFor(moto);
  try {
    await client.send(new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    }));
  } finally {
    client.destroy();
  }
}

export async function createFifoQueue(moto: MotoAddress, name: string): Promise<string> {
  const client = new SQSClient(motoConfig(moto));
  try {
    const queue = await client.send(new CreateQueueCommand({
      QueueName: `${name}.fifo`,
      Attributes: { FifoQueue: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' },
    }));
    return queue.QueueUrl!;
  } finally {
    client.destroy();
  }
}

export async function createSecret(moto: MotoAddress, name: string, value: object): Promise<string> {
  const client = new SecretsManagerClient(motoConfig(moto));
  try {
    const secret = await client.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }));
    return secret.ARN!;
  } finally {
    client.destroy();
  }
}
