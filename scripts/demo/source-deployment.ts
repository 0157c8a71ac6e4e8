import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Resource, Resources, roleOf, StackArtifact, SynthesizedFunction } from './cloud-assembly';
import { AccessKey, createUserWithKey, SOURCE_REGION, sourceClientConfig, sourceS3 } from '../../test/emulated/emulators/partitions';
import { adaptForMoto, attachedPolicies, resolve, ResolutionContext } from '../../test/emulated/emulators/template-policies';

/** The account moto serves in both partitions: the emulated stacks are deployed there. */
export const ACCOUNT = '123456789012';
export const SOURCE_PARTITION = 'aws';

/** How the source partition's template values resolve, given what is deployed. */
export function sourceContext(resources: Resources): ResolutionContext {
  return { partition: SOURCE_PARTITION, region: SOURCE_REGION, accountId: ACCOUNT, resources };
}

interface SourceClients {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly secrets: SecretsManagerClient;
}

/**
 * Creates, in the source partition, each resource the given template values reference (buckets,
 * tables, queues, secrets), from its synthesized properties, and returns their physical values
 * (`Ref` and attributes) by logical id. Names are generated as CloudFormation would.
 */
export async function deploySourceResources(stack: StackArtifact, ids: Set<string>, admin: AccessKey, endpoint: string): Promise<Resources> {
  const config = sourceClientConfig(endpoint, admin);
  const clients: SourceClients = {
    s3: sourceS3(endpoint, admin), dynamodb: new DynamoDBClient(config), sqs: new SQSClient(config), secrets: new SecretsManagerClient(config),
  };
  const resources: Resources = {};
  for (const id of deploymentOrder(stack, ids)) {
    const name = `${stack.name}-${id}`.toLowerCase().slice(0, 57);
    resources[id] = await deployResource(clients, id, stack.template.Resources[id], name, sourceContext(resources));
  }
  Object.values(clients).forEach((client) => client.destroy());
  return resources;
}

/** Queues last, and a queue whose redrive policy names another after that one. */
function deploymentOrder(stack: StackArtifact, ids: Set<string>): string[] {
  const rank = (id: string) => {
    const resource = stack.template.Resources[id];
    if (resource.Type !== 'AWS::SQS::Queue') return 0;
    return resource.Properties?.RedrivePolicy ? 2 : 1;
  };
  return [...ids].sort((a, b) => rank(a) - rank(b));
}

async function deployResource(
  clients: SourceClients, id: string, { Type: type, Properties: properties = {} }: Resource, name: string, context: ResolutionContext,
): Promise<Resources[string]> {
  switch (type) {
    case 'AWS::S3::Bucket': return createBucket(clients.s3, name, properties);
    case 'AWS::DynamoDB::Table': return createTable(clients.dynamodb, name, properties);
    case 'AWS::SQS::Queue': return createQueue(clients.sqs, name, resolve(properties, context) as Record<string, unknown>);
    case 'AWS::SecretsManager::Secret': return createSecret(clients.secrets, name, resolve(properties.SecretString, context) as string);
    default: throw new Error(`the demo cannot deploy ${type} (${id}), which a handler's environment or policy names`);
  }
}

async function createBucket(s3: S3Client, name: string, properties: any) {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  if (properties.VersioningConfiguration?.Status === 'Enabled') {
    await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
  }
  return { Ref: name, Arn: `arn:${SOURCE_PARTITION}:s3:::${name}` };
}

async function createTable(dynamodb: DynamoDBClient, name: string, properties: any) {
  await dynamodb.send(new CreateTableCommand({
    TableName: name,
    AttributeDefinitions: properties.AttributeDefinitions,
    KeySchema: properties.KeySchema,
    BillingMode: properties.BillingMode,
  }));
  return { Ref: name, Arn: `arn:${SOURCE_PARTITION}:dynamodb:${SOURCE_REGION}:${ACCOUNT}:table/${name}` };
}

async function createQueue(sqs: SQSClient, name: string, properties: Record<string, unknown>) {
  const queueName = properties.FifoQueue ? `${name}.fifo` : name;
  const attributes = Object.fromEntries(Object.entries(properties)
    .map(([key, value]) => [key, typeof value === 'object' ? JSON.stringify(value) : String(value)]));
  const { QueueUrl: url } = await sqs.send(new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }));
  return { Ref: url!, Arn: `arn:${SOURCE_PARTITION}:sqs:${SOURCE_REGION}:${ACCOUNT}:${queueName}`, QueueName: queueName };
}

async function createSecret(secrets: SecretsManagerClient, name: string, secretString: string) {
  const { ARN: arn } = await secrets.send(new CreateSecretCommand({ Name: name, SecretString: secretString }));
  return { Ref: arn! };
}

/** An IAM user of the source partition carrying the policies synthesized for a function's role: its identity. */
export async function roleIdentity(fn: SynthesizedFunction, resources: Resources, admin: AccessKey, endpoint: string): Promise<AccessKey> {
  const roleId = roleOf(fn);
  const policies = adaptForMoto(attachedPolicies(fn.stack.template, { roles: roleId }, sourceContext(resources)));
  const iam = new IAMClient(sourceClientConfig(endpoint, admin));
  const key = await createUserWithKey(iam, `${fn.stack.name}-${roleId}`, policies);
  iam.destroy();
  return key;
}
