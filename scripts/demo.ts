/**
 * The local demo: what a consumer deploys, run against two emulated partitions. It synthesizes the
 * README's example app (examples/typescript/app.ts), reads the cloud assembly, "deploys" the
 * resources the router's and the replicator's environment variables name (and the destination
 * stack's bucket and user) into two moto servers, and invokes the bundled handlers from the
 * assembly's asset directories as Lambda would. Source objects get several versions, a delete and a
 * tag change; their events reach the router in a fixed order in which one older version arrives
 * after a newer one, and the FIFO queue hands them to the replicator. Prints the delivery order
 * with each outcome, then source versus destination; exits non-zero if they differ.
 * Run with `npx projen demo`.
 */
import { createHash } from 'crypto';
import { readFileSync, rmSync } from 'fs';
import Module from 'module';
import { join, resolve as resolvePath } from 'path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { startEmulatedPartitions } from '../test/emulators/emulated-partitions';
import {
  AccessKey,
  DESTINATION_PARTITION,
  DESTINATION_REGION,
  destinationClientConfig,
  destinationS3,
  emulators,
  SOURCE_REGION,
  sourceClientConfig,
  sourceS3,
} from '../test/emulators/partitions';
import { S3Event, S3EventSource } from '../test/emulators/s3-events';
import { adaptForMoto, attachedPolicies, logicalIdOf, resolve, ResolutionContext } from '../test/emulators/template-policies';

const ROOT = resolvePath(__dirname, '..');
const EXAMPLE_APP = join(ROOT, 'examples', 'typescript', 'app.ts');
const LIBRARY = 'cdk-partition-replicated-bucket';
const OUTDIR = join(ROOT, 'cdk.out');
/** The account moto serves in both partitions: the emulated stacks are deployed there. */
const ACCOUNT = '123456789012';
const SOURCE_PARTITION = 'aws';

type Template = { Resources: Record<string, { Type: string; Properties?: any }> };
type Resources = NonNullable<ResolutionContext['resources']>;

interface StackArtifact {
  readonly name: string;
  readonly template: Template;
  /** Construct path to logical id. */
  readonly logicalIds: Map<string, string>;
  /** Asset object key (`<hash>.zip`) to the staged asset directory. */
  readonly assetDirs: Map<string, string>;
}

// --- Synthesis -------------------------------------------------------------------------------------

/**
 * Runs the example app as it is, its `cdk-partition-replicated-bucket` import resolved to this
 * repository's library source (tsconfig.dev.json maps the name the same way for the type checker).
 * `App` writes the assembly to CDK_OUTDIR.
 */
function synthesizeExample(): StackArtifact[] {
  rmSync(OUTDIR, { recursive: true, force: true });
  process.env.CDK_OUTDIR = OUTDIR;
  const modules = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = modules._resolveFilename;
  modules._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
    return original.call(this, request === LIBRARY ? join(ROOT, 'src', 'index.ts') : request, ...rest);
  };
  try {
    // The app is a program (it synthesizes when loaded), not a module with exports.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(EXAMPLE_APP);
  } finally {
    modules._resolveFilename = original;
    delete process.env.CDK_OUTDIR;
  }
  return readAssembly(OUTDIR);
}

function readAssembly(outdir: string): StackArtifact[] {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
  const artifacts = Object.entries(manifest.artifacts as Record<string, any>);
  const assetDirs = new Map<string, string>();
  for (const [, artifact] of artifacts.filter(([, a]) => a.type === 'cdk:asset-manifest')) {
    const assets = JSON.parse(readFileSync(join(outdir, artifact.properties.file), 'utf8'));
    for (const file of Object.values(assets.files as Record<string, any>)) {
      for (const destination of Object.values(file.destinations as Record<string, any>)) {
        assetDirs.set(destination.objectKey, join(outdir, file.source.path));
      }
    }
  }
  return artifacts.filter(([, a]) => a.type === 'aws:cloudformation:stack').map(([name, artifact]) => ({
    name,
    template: JSON.parse(readFileSync(join(outdir, artifact.properties.templateFile), 'utf8')),
    logicalIds: new Map(Object.entries((artifact.metadata ?? {}) as Record<string, Array<{ type: string; data: string }>>)
      .flatMap(([path, entries]) => entries.filter((e) => e.type === 'aws:cdk:logicalId').map((e) => [path, e.data] as [string, string]))),
    assetDirs,
  }));
}

/** The stack and logical id of the one Lambda function whose construct path ends with `suffix`. */
function findFunction(stacks: StackArtifact[], suffix: string): { stack: StackArtifact; logicalId: string } {
  const found = stacks.flatMap((stack) => [...stack.logicalIds]
    .filter(([path, id]) => path.endsWith(suffix) && stack.template.Resources[id]?.Type === 'AWS::Lambda::Function')
    .map(([, logicalId]) => ({ stack, logicalId })));
  if (found.length !== 1) throw new Error(`expected one function at *${suffix} in the assembly, found ${found.length}`);
  return found[0];
}

// --- Emulated deployment ---------------------------------------------------------------------------

/** Logical ids that `Ref` or `Fn::GetAtt` name anywhere in `value`. */
function referencedIds(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {value.forEach((item) => referencedIds(item, into));} else if (value && typeof value === 'object') {
    for (const [name, argument] of Object.entries(value)) {
      if (name === 'Ref' && typeof argument === 'string' && !argument.startsWith('AWS::')) into.add(argument);
      else if (name === 'Fn::GetAtt') into.add((argument as string[])[0]);
      else referencedIds(argument, into);
    }
  }
  return into;
}

/**
 * Creates, in the source partition, each resource the given template values reference (buckets,
 * tables, queues, secrets), from its synthesized properties, and returns their physical values
 * (`Ref` and attributes) by logical id. Names are generated as CloudFormation would.
 */
async function deploySourceResources(stack: StackArtifact, ids: Set<string>, admin: AccessKey, endpoint: string): Promise<Resources> {
  const config = sourceClientConfig(endpoint, admin);
  const s3 = sourceS3(endpoint, admin);
  const dynamodb = new DynamoDBClient(config);
  const sqs = new SQSClient(config);
  const secrets = new SecretsManagerClient(config);
  const resources: Resources = {};
  const context = (): ResolutionContext => ({ partition: SOURCE_PARTITION, region: SOURCE_REGION, accountId: ACCOUNT, resources });
  const physicalName = (id: string) => `${stack.name}-${id}`.toLowerCase().slice(0, 57);
  // Queues last, and a queue whose redrive policy names another after that one.
  const order = [...ids].sort((a, b) => rank(a) - rank(b));
  function rank(id: string): number {
    const resource = stack.template.Resources[id];
    if (resource.Type !== 'AWS::SQS::Queue') return 0;
    return resource.Properties?.RedrivePolicy ? 2 : 1;
  }
  for (const id of order) {
    const { Type: type, Properties: properties = {} } = stack.template.Resources[id];
    const name = physicalName(id);
    if (type === 'AWS::S3::Bucket') {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      if (properties.VersioningConfiguration?.Status === 'Enabled') {
        await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
      }
      resources[id] = { Ref: name, Arn: `arn:${SOURCE_PARTITION}:s3:::${name}` };
    } else if (type === 'AWS::DynamoDB::Table') {
      await dynamodb.send(new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: properties.AttributeDefinitions,
        KeySchema: properties.KeySchema,
        BillingMode: properties.BillingMode,
      }));
      resources[id] = { Ref: name, Arn: `arn:${SOURCE_PARTITION}:dynamodb:${SOURCE_REGION}:${ACCOUNT}:table/${name}` };
    } else if (type === 'AWS::SQS::Queue') {
      const queueName = properties.FifoQueue ? `${name}.fifo` : name;
      const attributes = Object.fromEntries(Object.entries(resolve(properties, context()) as Record<string, unknown>)
        .map(([key, value]) => [key, typeof value === 'object' ? JSON.stringify(value) : String(value)]));
      const { QueueUrl: url } = await sqs.send(new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }));
      resources[id] = { Ref: url!, Arn: `arn:${SOURCE_PARTITION}:sqs:${SOURCE_REGION}:${ACCOUNT}:${queueName}`, QueueName: queueName };
    } else if (type === 'AWS::SecretsManager::Secret') {
      const secretString = resolve(properties.SecretString, context()) as string;
      const { ARN: arn } = await secrets.send(new CreateSecretCommand({ Name: name, SecretString: secretString }));
      resources[id] = { Ref: arn! };
    } else {
      throw new Error(`the demo cannot deploy ${type} (${id}), which a handler's environment or policy names`);
    }
  }
  [s3, dynamodb, sqs, secrets].forEach((client) => client.destroy());
  return resources;
}

/** An IAM user of the source partition carrying the policies synthesized for a function's role: its identity. */
async function roleIdentity(stack: StackArtifact, functionId: string, resources: Resources, admin: AccessKey, endpoint: string) {
  const roleId = (stack.template.Resources[functionId].Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const policies = adaptForMoto(attachedPolicies(stack.template, { roles: roleId },
    { partition: SOURCE_PARTITION, region: SOURCE_REGION, accountId: ACCOUNT, resources }));
  return createUser(new IAMClient(sourceClientConfig(endpoint, admin)), `${stack.name}-${roleId}`, policies);
}

async function createUser(iam: IAMClient, userName: string, policies: Record<string, object>): Promise<AccessKey> {
  await iam.send(new CreateUserCommand({ UserName: userName }));
  for (const [policyName, document] of Object.entries(policies)) {
    await iam.send(new PutUserPolicyCommand({ UserName: userName, PolicyName: policyName, PolicyDocument: JSON.stringify(document) }));
  }
  const { AccessKey: key } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  iam.destroy();
  return { accessKeyId: key!.AccessKeyId!, secretAccessKey: key!.SecretAccessKey! };
}

/**
 * Deploys the destination stack's bucket and replication user into the destination partition and
 * returns the user's key as the stack's access-key secret holds it (what the operator copies into
 * the source's credentials secret). moto evaluates no condition of an S3 request, so it would apply
 * a conditional Deny unconditionally: the SSE-C Deny (which never matches the replicator's writes)
 * is left out there, as in the enforcement tests.
 */
async function deployDestination(
  stack: StackArtifact, bucketId: string, admin: AccessKey, endpoint: string,
): Promise<{ secretValue: string; droppedDenies: string[] }> {
  const bucketName = stack.template.Resources[bucketId].Properties.BucketName as string;
  const s3 = destinationS3(endpoint, admin);
  await s3.send(new CreateBucketCommand({ Bucket: bucketName, CreateBucketConfiguration: { LocationConstraint: DESTINATION_REGION } }));
  if (stack.template.Resources[bucketId].Properties.VersioningConfiguration?.Status === 'Enabled') {
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucketName, VersioningConfiguration: { Status: 'Enabled' } }));
  }
  s3.destroy();
  const userId = logicalIdOf(stack.template, 'AWS::IAM::User');
  const userName = `${stack.name}-${userId}`;
  const resources: Resources = {
    [bucketId]: { Ref: bucketName, Arn: `arn:${DESTINATION_PARTITION}:s3:::${bucketName}` },
    [userId]: { Ref: userName, Arn: `arn:${DESTINATION_PARTITION}:iam::${ACCOUNT}:user/${userName}` },
  };
  const context: ResolutionContext = { partition: DESTINATION_PARTITION, region: DESTINATION_REGION, accountId: ACCOUNT, resources };
  const droppedDenies: string[] = [];
  const policies = Object.fromEntries(Object.entries(attachedPolicies(stack.template, { users: userId }, context)).map(([name, document]) => {
    const { Statement: statements, ...rest } = document as { Statement: Array<{ Sid?: string; Effect: string; Condition?: object }> };
    const conditionalDeny = (s: { Effect: string; Condition?: object }) => s.Effect === 'Deny' && s.Condition !== undefined;
    droppedDenies.push(...statements.filter(conditionalDeny).map((s) => s.Sid ?? '(no sid)'));
    return [name, { ...rest, Statement: statements.filter((s) => !conditionalDeny(s)) }];
  }));
  const key = await createUser(new IAMClient(destinationClientConfig(endpoint, admin)), userName, policies);
  const keyId = logicalIdOf(stack.template, 'AWS::IAM::AccessKey');
  resources[keyId] = { Ref: key.accessKeyId, SecretAccessKey: key.secretAccessKey };
  const secretId = logicalIdOf(stack.template, 'AWS::SecretsManager::Secret');
  return { secretValue: resolve(stack.template.Resources[secretId].Properties.SecretString, context) as string, droppedDenies };
}

// --- Lambda, played ------------------------------------------------------------------------------

interface DeployedFunction {
  readonly name: string;
  readonly assetDir: string;
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number;
  handler?: (event: unknown, context: Context) => Promise<unknown>;
}

/** Runs `work` with exactly `environment` as the process environment, as a function's own sandbox would have it. */
async function withEnvironment<T>(environment: Record<string, string>, work: () => Promise<T> | T): Promise<T> {
  const saved = { ...process.env };
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, { PATH: saved.PATH ?? '', NODE_NO_WARNINGS: '1' }, environment);
  try {
    return await work();
  } finally {
    for (const name of Object.keys(process.env)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

/** Invokes the bundled handler (loaded on first use, in its environment) and collects what it logs. */
async function invoke(fn: DeployedFunction, event: unknown): Promise<{ result: unknown; lines: string[] }> {
  const chunks: string[] = [];
  const write = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  };
  const [stdout, stderr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = write as typeof process.stdout.write;
  process.stderr.write = write as typeof process.stderr.write;
  try {
    const result = await withEnvironment(fn.environment, async () => {
      // Lambda loads the handler file from the deployed code: here the staged asset directory.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      fn.handler ??= (require(join(fn.assetDir, 'index.js')) as { handler: DeployedFunction['handler'] }).handler;
      const deadline = Date.now() + fn.timeoutSeconds * 1000;
      const context = {
        functionName: fn.name, memoryLimitInMB: fn.environment.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, getRemainingTimeInMillis: () => deadline - Date.now(),
      } as unknown as Context;
      return fn.handler!(event, context);
    });
    return { result, lines: chunks.join('').split('\n').filter((line) => line.length > 0) };
  } catch (error) {
    stderr.call(process.stderr, chunks.join(''));
    throw error;
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

/** EventBridge's matching for the rule's pattern shapes: lists of values or `{prefix}`, nested objects. */
function matches(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    const actual = event?.[field];
    if (!Array.isArray(expected)) return matches(expected as Record<string, unknown>, actual as Record<string, unknown>);
    return expected.some((candidate) => (typeof candidate === 'object' && candidate !== null && 'prefix' in candidate
      ? typeof actual === 'string' && actual.startsWith((candidate as { prefix: string }).prefix)
      : actual === candidate));
  });
}

// --- The scenario --------------------------------------------------------------------------------

interface Step {
  readonly label: string;
  readonly event: S3Event;
}

const CSV = 'reports/2026/q1.csv';
const LOGO = 'reports/images/logo v2+final.png';
const NOTES = 'reports/drafts/notes.txt';
const DATA = 'reports/data/données.json';
const SCRATCH = 'scratch/tmp.txt';

/** The source bucket's history, made with real requests; each step's event in AWS's shape. */
async function writeSourceObjects(events: S3EventSource): Promise<Record<string, Step>> {
  const steps: Record<string, Step> = {};
  const csv = (rows: number) => `region,total\n${Array.from({ length: rows }, (_, i) => `r${i},${10 + i}`).join('\n')}\n`;
  steps.csv1 = { label: 'v1', event: await events.put(CSV, csv(1), { ContentType: 'text/csv' }) };
  steps.csv2 = { label: 'v2', event: await events.put(CSV, csv(2), { ContentType: 'text/csv' }) };
  steps.csv3 = { label: 'v3', event: await events.put(CSV, csv(3), { ContentType: 'text/csv' }) };
  steps.logo = { label: 'v1', event: await events.put(LOGO, Buffer.alloc(4096, 7), { ContentType: 'image/png', Tagging: 'team=brand' }) };
  steps.notes = { label: 'v1', event: await events.put(NOTES, 'to be deleted', { ContentType: 'text/plain' }) };
  steps.notesDeleted = { label: 'delete marker', event: await events.deleteMarker(NOTES) };
  steps.data = { label: 'v1', event: await events.put(DATA, '{"ok":true}', { ContentType: 'application/json' }) };
  const dataVersion = steps.data.event.detail.object['version-id'] as string;
  steps.dataTagged = { label: 'v1 tags', event: await events.tag(DATA, dataVersion, [{ Key: 'classification', Value: 'internal' }]) };
  steps.scratch = { label: 'v1', event: await events.put(SCRATCH, 'not under reports/', { ContentType: 'text/plain' }) };
  return steps;
}

/**
 * The order in which EventBridge delivers the events (it keeps none): fixed, so the run is
 * repeatable. v3 of the CSV arrives before v2, which then arrives after the newer replica.
 */
const DELIVERY_ORDER = ['csv1', 'logo', 'csv3', 'notes', 'data', 'csv2', 'dataTagged', 'notesDeleted', 'scratch'];

const OUTCOMES: Record<string, string> = {
  'copy': 'replicated',
  'create-delete-marker': 'delete marker replicated',
  'sync-tags': 'tags replicated',
  'skip:older-than-replica': 'SKIPPED: older than the replica',
};

interface Side {
  readonly versions: number;
  readonly current: string;
}

async function describeKey(s3: S3Client, bucket: string, key: string): Promise<Side> {
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  const versions = (listed.Versions ?? []).filter((v) => v.Key === key).length
    + (listed.DeleteMarkers ?? []).filter((m) => m.Key === key).length;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = await object.Body!.transformToByteArray();
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    const tagText = (tags.TagSet ?? []).map((t) => `${t.Key}=${t.Value}`).join(',') || '-';
    const digest = createHash('sha256').update(body).digest('hex').slice(0, 10);
    return { versions, current: `${body.length} B sha256:${digest} ${object.ContentType ?? ''} tags:${tagText}` };
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchKey') return { versions, current: versions > 0 ? '(deleted)' : '(absent)' };
    throw error;
  }
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const [index, row] of rows.entries()) {
    console.log(`  ${row.map((cell, column) => cell.padEnd(widths[column])).join('  ')}`.trimEnd());
    if (index === 0) console.log(`  ${widths.map((width) => '-'.repeat(width)).join('  ')}`);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const elapsed = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

  console.log(`Synthesizing ${EXAMPLE_APP.slice(ROOT.length + 1)} ('${LIBRARY}' resolved to this repository's src/) into ${OUTDIR.slice(ROOT.length + 1)}/ ...`);
  const stacks = synthesizeExample();
  const router = findFunction(stacks, '/Router/Resource');
  const replicator = findFunction(stacks, '/Replicator/Resource');
  if (router.stack !== replicator.stack) throw new Error('the router and the replicator are in different stacks');
  const source = router.stack;
  const functionOf = ({ logicalId }: { logicalId: string }) => {
    const properties = source.template.Resources[logicalId].Properties;
    const assetDir = source.assetDirs.get(properties.Code.S3Key);
    if (!assetDir) throw new Error(`no asset directory for ${logicalId} (${properties.Code.S3Key})`);
    return { logicalId, properties, assetDir };
  };
  const [routerFn, replicatorFn] = [functionOf(router), functionOf(replicator)];
  console.log(`  ${source.name}: router ${routerFn.logicalId} (${routerFn.assetDir.slice(ROOT.length + 1)}/index.js), ` +
    `replicator ${replicatorFn.logicalId} (${replicatorFn.assetDir.slice(ROOT.length + 1)}/index.js)  [${elapsed(started)}]`);

  console.log(`Starting two emulated partitions: source ${SOURCE_REGION} (aws), destination ${DESTINATION_REGION} (aws-us-gov), IAM enforced in both ...`);
  const partitionsStarted = Date.now();
  const partitions = await startEmulatedPartitions();
  try {
    const { sourceEndpoint, destinationEndpoint, sourceAdmin, destinationAdmin } = emulators();
    console.log(`  source ${sourceEndpoint}, destination ${destinationEndpoint}  [${elapsed(partitionsStarted)}]`);

    // Deploy what the two functions' environments and policies name, from the templates.
    const deployStarted = Date.now();
    const variables = (fn: ReturnType<typeof functionOf>) => fn.properties.Environment.Variables as Record<string, unknown>;
    const policyOf = (fn: ReturnType<typeof functionOf>) => attachedPoliciesRaw(source.template, fn.properties.Role['Fn::GetAtt'][0]);
    const ids = new Set<string>();
    for (const fn of [routerFn, replicatorFn]) {
      referencedIds(variables(fn), ids);
      referencedIds(policyOf(fn), ids);
    }
    const resources = await deploySourceResources(source, ids, sourceAdmin, sourceEndpoint);
    const context: ResolutionContext = { partition: SOURCE_PARTITION, region: SOURCE_REGION, accountId: ACCOUNT, resources };
    const environment = (fn: ReturnType<typeof functionOf>) => resolve(variables(fn), context) as Record<string, string>;
    const routerEnv = environment(routerFn);
    const replicatorEnv = environment(replicatorFn);

    const destinationBucket = replicatorEnv.DESTINATION_BUCKET_NAME;
    const destinationStack = stacks.find((stack) => Object.values(stack.template.Resources)
      .some((r) => r.Type === 'AWS::S3::Bucket' && r.Properties?.BucketName === destinationBucket));
    if (!destinationStack) throw new Error(`no stack in the app defines the destination bucket ${destinationBucket}`);
    const bucketId = Object.entries(destinationStack.template.Resources)
      .find(([, r]) => r.Type === 'AWS::S3::Bucket' && r.Properties?.BucketName === destinationBucket)![0];
    const { secretValue, droppedDenies } = await deployDestination(destinationStack, bucketId, destinationAdmin, destinationEndpoint);
    // The operator's step from the README: copy the destination key into the source's credentials secret.
    const secrets = new SecretsManagerClient(sourceClientConfig(sourceEndpoint, sourceAdmin));
    await secrets.send(new PutSecretValueCommand({ SecretId: replicatorEnv.DESTINATION_CREDENTIALS_SECRET_ARN, SecretString: secretValue }));
    secrets.destroy();

    // What Lambda adds to a function's environment: its region and its role's credentials (here an
    // IAM user with the role's synthesized policies). Plus the two demo-only endpoint overrides.
    const lambdaEnvironment = async (fn: ReturnType<typeof functionOf>, variablesOfFn: Record<string, string>) => {
      const key = await roleIdentity(source, fn.logicalId, resources, sourceAdmin, sourceEndpoint);
      return {
        ...variablesOfFn,
        AWS_REGION: SOURCE_REGION,
        AWS_DEFAULT_REGION: SOURCE_REGION,
        AWS_ACCESS_KEY_ID: key.accessKeyId,
        AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
        AWS_LAMBDA_FUNCTION_NAME: `${source.name}-${fn.logicalId}`,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.properties.MemorySize ?? 128),
        AWS_ENDPOINT_URL: sourceEndpoint,
      };
    };
    const routerFunction: DeployedFunction = {
      name: `${source.name}-${routerFn.logicalId}`,
      assetDir: routerFn.assetDir,
      timeoutSeconds: routerFn.properties.Timeout ?? 3,
      environment: await lambdaEnvironment(routerFn, routerEnv),
    };
    const replicatorFunction: DeployedFunction = {
      name: `${source.name}-${replicatorFn.logicalId}`,
      assetDir: replicatorFn.assetDir,
      timeoutSeconds: replicatorFn.properties.Timeout ?? 3,
      environment: { ...await lambdaEnvironment(replicatorFn, replicatorEnv), DESTINATION_ENDPOINT: destinationEndpoint },
    };
    const bucket = routerEnv.SOURCE_BUCKET_NAME;
    console.log(`Deployed into the emulators from the templates  [${elapsed(deployStarted)}]:`);
    console.log(`  ${source.name}: bucket ${bucket}, table ${replicatorEnv.REPLICATION_TABLE_NAME}, FIFO queue and dead-letter queues, ` +
      'the credentials secret, and one IAM user per function carrying the policies synthesized for its role');
    console.log(`  ${destinationStack.name}: bucket ${destinationBucket} (versioned), the replication user with its synthesized policy ` +
      `(without ${droppedDenies.join(', ') || 'nothing'}: moto applies a Deny's condition as if it always held), ` +
      'its key copied into the source\'s credentials secret as the README says');
    console.log('  Handler environment: the template\'s variables resolved to those resources, plus AWS_REGION and the role\'s key as Lambda sets them,');
    console.log(`  plus two demo-only overrides: AWS_ENDPOINT_URL=${sourceEndpoint} (the SDK's standard endpoint variable, so the unchanged`);
    console.log(`  bundles reach the emulated source partition) and, for the replicator, DESTINATION_ENDPOINT=${destinationEndpoint} (what the`);
    console.log('  construct sets for destinationEndpoint + allowInsecureEndpoints; the example leaves it unset, so in AWS the SDK resolves it from us-gov-west-1).\n');

    // Write the source objects; play EventBridge (the rule's pattern, the delivery order) into the router.
    const userS3 = sourceS3(sourceEndpoint, sourceAdmin);
    const steps = await writeSourceObjects(new S3EventSource(userS3, bucket, SOURCE_REGION));
    const rule = Object.values(source.template.Resources).find((r) => r.Type === 'AWS::Events::Rule'
      && JSON.stringify(r.Properties.Targets).includes(routerFn.logicalId))!;
    const pattern = resolve(rule.Properties.EventPattern, context) as Record<string, unknown>;
    const replicationStarted = Date.now();
    const at = (time: number) => `+${String(time - replicationStarted).padStart(4)} ms`;
    const rows = [['#', 'at', 'delivered to', 'event', 'key', 'version', 'outcome']];
    const labelOf = new Map<string, string>();
    for (const [index, name] of DELIVERY_ORDER.entries()) {
      const { event, label } = steps[name];
      const key = event.detail.object.key as string;
      labelOf.set(`${key}\u0000${event.detail.object['version-id']}\u0000${event['detail-type'].startsWith('Object Tags') ? 'tags' : 'object'}`, label);
      const when = Date.now();
      let outcome = 'not matched by the rule (outside reports/)';
      let target = 'EventBridge rule';
      if (matches(pattern, event as unknown as Record<string, unknown>)) {
        target = 'router';
        const { result } = await invoke(routerFunction, event);
        outcome = (result as { routed: boolean }).routed ? 'queued (FIFO group of the key)' : 'not routed';
      }
      rows.push([String(index + 1), at(when), target, event['detail-type'], key, label, outcome]);
    }

    // Play the Lambda SQS poller (the event source mapping, with the replicator's role): batches of
    // up to 10, partial batch responses, until the queue is empty.
    const mapping = Object.values(source.template.Resources).find((r) => r.Type === 'AWS::Lambda::EventSourceMapping'
      && JSON.stringify(r.Properties.FunctionName).includes(replicatorFn.logicalId))!;
    const sqs = new SQSClient(sourceClientConfig(sourceEndpoint, {
      accessKeyId: replicatorFunction.environment.AWS_ACCESS_KEY_ID, secretAccessKey: replicatorFunction.environment.AWS_SECRET_ACCESS_KEY,
    }));
    const queueUrl = replicatorEnv.REPLICATION_QUEUE_URL;
    const eventSourceArn = resolve(mapping.Properties.EventSourceArn, context) as string;
    let delivered = rows.length - 1;
    let failures = 0;
    let skippedAsOlder = 0;
    for (let batch = 1, idle = 0; idle < 2 && batch <= 20; batch++) {
      const { Messages: messages = [] } = await sqs.send(new ReceiveMessageCommand({
        QueueUrl: queueUrl, MaxNumberOfMessages: mapping.Properties.BatchSize ?? 10, MessageSystemAttributeNames: ['All'],
      }));
      if (messages.length === 0) {
        idle += failures > 0 ? 0 : 1;
        if (failures > 0) await new Promise((done) => setTimeout(done, 1000));
        continue;
      }
      const event: SQSEvent = {
        Records: messages.map((message) => ({
          messageId: message.MessageId!,
          receiptHandle: message.ReceiptHandle!,
          body: message.Body!,
          attributes: message.Attributes as unknown as SQSEvent['Records'][number]['attributes'],
          messageAttributes: {},
          md5OfBody: message.MD5OfBody!,
          eventSource: 'aws:sqs',
          eventSourceARN: eventSourceArn,
          awsRegion: SOURCE_REGION,
        })),
      };
      const { result, lines } = await invoke(replicatorFunction, event);
      const logs = lines.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, any>];
        } catch {
          return [];
        }
      });
      const processed = logs.filter((log) => log.message === 'replication event processed');
      for (const message of messages) {
        const body = JSON.parse(message.Body!) as { key: string; versionId: string; kind: string };
        const log = processed.find((entry) => entry.key === body.key && entry.versionId === body.versionId && entry.kind === body.kind);
        const outcome = log?.outcome as { action: string; reason?: string } | undefined;
        const code = outcome ? (outcome.action === 'skip' ? `skip:${outcome.reason}` : outcome.action) : undefined;
        if (code === 'skip:older-than-replica') skippedAsOlder += 1;
        const kind = body.kind === 'ObjectTagsChanged' ? 'tags' : 'object';
        delivered += 1;
        rows.push([String(delivered), log ? at(Date.parse(log.timestamp)) : '', `replicator (batch ${batch})`,
          body.kind, body.key, labelOf.get(`${body.key}\u0000${body.versionId}\u0000${kind}`) ?? body.versionId,
          code ? OUTCOMES[code] ?? code : 'FAILED (will be retried)']);
      }
      const failed = new Set((result as SQSBatchResponse).batchItemFailures.map((failure) => failure.itemIdentifier));
      failures += failed.size;
      for (const log of logs.filter((entry) => entry.level === 'ERROR')) console.error(`  replicator: ${log.message} ${JSON.stringify(log.error ?? '')}`);
      // One DeleteMessage per message: moto authorizes DeleteMessageBatch as its own action, which the
      // synthesized policy (rightly, for AWS) does not name.
      for (const message of messages.filter((m) => !failed.has(m.MessageId!))) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
      }
    }
    sqs.destroy();
    const replicationTime = Date.now() - replicationStarted;
    console.log('Delivery order (EventBridge into the router in a fixed order, then the FIFO queue into the replicator):');
    printTable(rows);

    console.log(`\nSource (${bucket}) versus destination (${destinationBucket}):`);
    const destinationAdminS3 = destinationS3(destinationEndpoint, destinationAdmin);
    const table = [['key', 'source (versions | current)', 'destination (versions | current)', 'match']];
    let mismatches = 0;
    for (const key of [CSV, LOGO, NOTES, DATA, SCRATCH]) {
      const sourceSide = await describeKey(userS3, bucket, key);
      const replica = await describeKey(destinationAdminS3, destinationBucket, key);
      const replicated = key.startsWith('reports/');
      const match = replicated ? sourceSide.current === replica.current : replica.current === '(absent)';
      if (!match) mismatches += 1;
      table.push([key, `${sourceSide.versions} | ${sourceSide.current}`, `${replica.versions} | ${replica.current}`,
        match ? (replicated ? 'yes' : 'yes (not replicated: outside the prefixes)') : 'NO']);
    }
    printTable(table);
    for (const row of rows.filter((r) => r[6] === OUTCOMES['skip:older-than-replica'])) {
      console.log(`\n${row[5]} of ${row[4]} arrived after a newer version had been replicated and was skipped: an older version`);
      console.log('is never written over a newer replica, so the destination keeps fewer versions of that key.');
    }
    if (mismatches === 0) console.log('Every replicated key\'s current content, metadata and tags match the source.');
    console.log(`\nReplication (${DELIVERY_ORDER.length} events through the router, ${delivered - DELIVERY_ORDER.length} deliveries to the replicator) took ` +
      `${replicationTime} ms; the demo ${process.uptime().toFixed(1)} s since its process started (synthesis, emulators, deployment included).`);

    const problems = [
      ...(mismatches > 0 ? [`${mismatches} key(s) differ between source and destination`] : []),
      ...(skippedAsOlder === 0 ? ['no older event arrived after a newer one and was skipped'] : []),
      ...(failures > 0 ? [`${failures} deliveries failed`] : []),
    ];
    if (problems.length > 0) {
      console.error(`\nDEMO FAILED: ${problems.join('; ')}`);
      process.exitCode = 1;
    }
  } finally {
    await partitions.stop();
  }
}

/** The policy documents attached to a role, unresolved (to collect what they reference). */
function attachedPoliciesRaw(template: Template, roleId: string): unknown[] {
  return Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles ?? []).includes(`"${roleId}"`))
    .map((r) => r.Properties.PolicyDocument);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
