import { IAMClient } from '@aws-sdk/client-iam';
import { CreateBucketCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { Resources, StackArtifact } from './cloud-assembly';
import { ACCOUNT } from './source-deployment';
import { AccessKey, createUserWithKey, DESTINATION_PARTITION, DESTINATION_REGION, destinationClientConfig, destinationS3 } from '../../test/emulated/emulators/partitions';
import { attachedPolicies, logicalIdOf, resolve, ResolutionContext } from '../../test/emulated/emulators/template-policies';

type Statement = { Sid?: string; Effect: string; Condition?: object };

export interface DeployedDestination {
  /** The replication user's key as the stack's access-key secret holds it. */
  readonly secretValue: string;
  /** Sids of the conditional Denies left out of the user's policies. */
  readonly droppedDenies: string[];
}

/**
 * Deploys the destination stack's bucket and replication user into the destination partition and
 * returns the user's key as the stack's access-key secret holds it (what the operator copies into
 * the source's credentials secret). moto evaluates no condition of an S3 request, so it would apply
 * a conditional Deny unconditionally: the SSE-C Deny (which never matches the replicator's writes)
 * is left out there, as in the enforcement tests.
 */
export async function deployDestination(stack: StackArtifact, bucketId: string, admin: AccessKey, endpoint: string): Promise<DeployedDestination> {
  const bucketName = await createDestinationBucket(stack, bucketId, admin, endpoint);
  const userId = logicalIdOf(stack.template, 'AWS::IAM::User');
  const userName = `${stack.name}-${userId}`;
  const resources: Resources = {
    [bucketId]: { Ref: bucketName, Arn: `arn:${DESTINATION_PARTITION}:s3:::${bucketName}` },
    [userId]: { Ref: userName, Arn: `arn:${DESTINATION_PARTITION}:iam::${ACCOUNT}:user/${userName}` },
  };
  const context: ResolutionContext = { partition: DESTINATION_PARTITION, region: DESTINATION_REGION, accountId: ACCOUNT, resources };
  const { policies, droppedDenies } = withoutConditionalDenies(attachedPolicies(stack.template, { users: userId }, context));
  const iam = new IAMClient(destinationClientConfig(endpoint, admin));
  const key = await createUserWithKey(iam, userName, policies);
  iam.destroy();
  resources[logicalIdOf(stack.template, 'AWS::IAM::AccessKey')] = { Ref: key.accessKeyId, SecretAccessKey: key.secretAccessKey };
  const secretId = logicalIdOf(stack.template, 'AWS::SecretsManager::Secret');
  return { secretValue: resolve(stack.template.Resources[secretId].Properties.SecretString, context) as string, droppedDenies };
}

async function createDestinationBucket(stack: StackArtifact, bucketId: string, admin: AccessKey, endpoint: string): Promise<string> {
  const properties = stack.template.Resources[bucketId].Properties;
  const bucketName = properties.BucketName as string;
  const s3 = destinationS3(endpoint, admin);
  await s3.send(new CreateBucketCommand({ Bucket: bucketName, CreateBucketConfiguration: { LocationConstraint: DESTINATION_REGION } }));
  if (properties.VersioningConfiguration?.Status === 'Enabled') {
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucketName, VersioningConfiguration: { Status: 'Enabled' } }));
  }
  s3.destroy();
  return bucketName;
}

/** The policies without their conditional Deny statements, and the Sids of those left out. */
function withoutConditionalDenies(documents: Record<string, object>): { policies: Record<string, object>; droppedDenies: string[] } {
  const conditionalDeny = (s: Statement) => s.Effect === 'Deny' && s.Condition !== undefined;
  const droppedDenies: string[] = [];
  const policies = Object.fromEntries(Object.entries(documents).map(([name, document]) => {
    const { Statement: statements, ...rest } = document as { Statement: Statement[] };
    droppedDenies.push(...statements.filter(conditionalDeny).map((s) => s.Sid ?? '(no sid)'));
    return [name, { ...rest, Statement: statements.filter((s) => !conditionalDeny(s)) }];
  }));
  return { policies, droppedDenies };
}
