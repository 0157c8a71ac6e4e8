import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { findBucket, referencedIds, Resources, StackArtifact, SynthesizedFunction } from './cloud-assembly';
import { deployDestination } from './destination-deployment';
import { DeployedFunction } from './lambda-invocation';
import { deploySourceResources, roleIdentity, sourceContext } from './source-deployment';
import { AccessKey, Emulators, SOURCE_REGION, sourceClientConfig } from '../../test/emulated/emulators/partitions';
import { resolve, ResolutionContext } from '../../test/emulated/emulators/template-policies';

/** The example app as deployed into the two emulated partitions. */
export interface Deployment {
  readonly source: StackArtifact;
  readonly destinationStack: StackArtifact;
  /** Resolves the source stack's template values to what is deployed. */
  readonly context: ResolutionContext;
  readonly router: DeployedFunction;
  readonly replicator: DeployedFunction;
  /** Sids of the destination user's conditional Denies left out (moto applies them unconditionally). */
  readonly droppedDenies: string[];
}

/** The function's environment variables, resolved to the deployed resources. */
function variablesOf(fn: SynthesizedFunction, context: ResolutionContext): Record<string, string> {
  return resolve(fn.properties.Environment.Variables, context) as Record<string, string>;
}

/**
 * Deploys what the two functions' environments and policies name, from the templates, and the
 * destination stack's bucket and user; copies the destination key into the source's credentials
 * secret as the README tells the operator to.
 */
export async function deployExample(
  stacks: StackArtifact[], router: SynthesizedFunction, replicator: SynthesizedFunction, emulators: Emulators,
): Promise<Deployment> {
  const { sourceEndpoint, destinationEndpoint, sourceAdmin, destinationAdmin } = emulators;
  const source = router.stack;
  const resources = await deploySourceResources(source, referencedIds(replicator, referencedIds(router)), sourceAdmin, sourceEndpoint);
  const context = sourceContext(resources);
  const [routerVariables, replicatorVariables] = [variablesOf(router, context), variablesOf(replicator, context)];
  const destination = findBucket(stacks, replicatorVariables.DESTINATION_BUCKET_NAME);
  const { secretValue, droppedDenies } = await deployDestination(destination.stack, destination.bucketId, destinationAdmin, destinationEndpoint);
  await putSecretValue(replicatorVariables.DESTINATION_CREDENTIALS_SECRET_ARN, secretValue, sourceAdmin, sourceEndpoint);
  const deploy = (fn: SynthesizedFunction, variables: Record<string, string>) => deployFunction(fn, variables, resources, emulators);
  return {
    source,
    destinationStack: destination.stack,
    context,
    router: await deploy(router, routerVariables),
    replicator: await deploy(replicator, { ...replicatorVariables, DESTINATION_ENDPOINT: destinationEndpoint }),
    droppedDenies,
  };
}

async function putSecretValue(secretId: string, value: string, admin: AccessKey, endpoint: string): Promise<void> {
  const secrets = new SecretsManagerClient(sourceClientConfig(endpoint, admin));
  await secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: value }));
  secrets.destroy();
}

/**
 * What Lambda adds to a function's environment: its region and its role's credentials (here an IAM
 * user with the role's synthesized policies). Plus the demo-only endpoint override of the source.
 */
async function deployFunction(
  fn: SynthesizedFunction, variables: Record<string, string>, resources: Resources, emulators: Emulators,
): Promise<DeployedFunction> {
  const key = await roleIdentity(fn, resources, emulators.sourceAdmin, emulators.sourceEndpoint);
  const name = `${fn.stack.name}-${fn.logicalId}`;
  return {
    name,
    assetDir: fn.assetDir,
    timeoutSeconds: fn.properties.Timeout ?? 3,
    environment: {
      ...variables,
      AWS_REGION: SOURCE_REGION,
      AWS_DEFAULT_REGION: SOURCE_REGION,
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.properties.MemorySize ?? 128),
      AWS_ENDPOINT_URL: emulators.sourceEndpoint,
    },
  };
}
