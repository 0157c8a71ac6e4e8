import { CreateAccessKeyCommand, CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AccessKey, createUserWithKey, DESTINATION_PARTITION } from './partitions';

/**
 * The replication fixture's identities in the destination partition (IAM enforced there): the
 * replicator's user, users and roles built from synthesized policies, and the credentials secret's
 * documented shape.
 */

/** A destination identity built from synthesized policies (see `installDestinationIdentity`). */
export interface DestinationIdentityPolicies {
  /** Inline policies of the IAM user, by name. */
  readonly userPolicies: Record<string, object>;
  /** Assume-role mode: the role's trust policy and inline policies, and the external id. */
  readonly role?: { readonly trustPolicy: object; readonly policies: Record<string, object>; readonly externalId: string };
}

/** A destination identity as installed: its user's key and, in assume-role mode, its role. */
export interface DestinationIdentity {
  readonly key: AccessKey;
  readonly roleArn?: string;
}

/** The credentials secret, in the shape the construct documents, for a user's key. */
export function credentialsSecret(userName: string, key: AccessKey): Record<string, string> {
  return {
    user: userName,
    accesskey: key.accessKeyId,
    secretaccesskey: key.secretAccessKey,
    partition: DESTINATION_PARTITION,
    accountid: '123456789012',
  };
}

/** A new key pair for a user. */
export async function createAccessKey(iam: IAMClient, userName: string): Promise<AccessKey> {
  const { AccessKey: key } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  return { accessKeyId: key!.AccessKeyId!, secretAccessKey: key!.SecretAccessKey! };
}

/** The replicator's user: every S3 right on the destination bucket and its objects, and a key. */
export function createReplicatorUser(iam: IAMClient, userName: string, destinationBucket: string): Promise<AccessKey> {
  return createUserWithKey(iam, userName, {
    'replicate-into-bucket': {
      Version: '2012-10-17',
      Statement: [{
        Effect: 'Allow',
        Action: 's3:*',
        Resource: [`arn:${DESTINATION_PARTITION}:s3:::${destinationBucket}`, `arn:${DESTINATION_PARTITION}:s3:::${destinationBucket}/*`],
      }],
    },
  });
}

/**
 * Creates a user with the given inline policies and a key, and in assume-role mode its role
 * (`<userName>-role`) with the role's trust policy and inline policies.
 */
export async function createDestinationIdentity(
  iam: IAMClient,
  userName: string,
  policies: DestinationIdentityPolicies,
): Promise<DestinationIdentity> {
  const key = await createUserWithKey(iam, userName, policies.userPolicies);
  if (!policies.role) return { key };
  const roleName = `${userName}-role`;
  const role = await iam.send(new CreateRoleCommand({
    RoleName: roleName,
    AssumeRolePolicyDocument: JSON.stringify(policies.role.trustPolicy),
  }));
  for (const [policyName, document] of Object.entries(policies.role.policies)) {
    await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: JSON.stringify(document) }));
  }
  return { key, roleArn: role.Role!.Arn! };
}
