import { Aws, SecretValue, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DestinationReplicationUserProps } from './destination-replication-user-props';
import { replicationRights } from './private/destination-user-rights';
import { validateDestinationUser } from './private/destination-user-validation';
import { addNagSuppressions, flattenCfnReference } from './private/nag-suppressions';

/**
 * The least-privilege identity that a `PartitionReplicatedBucket` in another partition uses to
 * write into its destination bucket. Deploy it in a stack of the destination partition.
 *
 * The rights are exactly what the replicator calls, on the object ARNs of the bucket (under the
 * prefixes, when given): `s3:PutObject` (which covers multipart uploads), `s3:AbortMultipartUpload`,
 * `s3:PutObjectTagging` (tags sent with the object), `s3:PutObjectVersionTagging` and
 * `s3:DeleteObjectVersionTagging` (tag changes), `s3:DeleteObject` (delete markers) and, with
 * `allowVersionDeletes`, `s3:DeleteObjectVersion`; with `allowObjectLock`, `s3:PutObjectRetention`
 * and `s3:PutObjectLegalHold` (replicas written with their Object Lock); with `kmsKey`, `kms:GenerateDataKey` and
 * `kms:Decrypt` for this bucket only. On the bucket, `s3:ListBucketVersions` and
 * `s3:ListBucketMultipartUploads` (under the prefixes), with which the replicator finds a replica
 * or an upload it made but could not record before a failure, and with `allowListing` (for
 * reconcile runs) `s3:ListBucket`: these credentials can never read an object's contents. The S3
 * rights hold only for buckets of this stack's account (`s3:ResourceAccount`), and writes with a
 * customer-provided encryption key (SSE-C) are explicitly denied.
 *
 * The rights are in `policyDocument`, attached to the user, or with `assumeRole` to a role that
 * only the user may assume. With `createAccessKey`, the user's access key is stored in
 * `accessKeySecret`, ready to be copied into the source construct's `credentialsSecret`.
 */
export class DestinationReplicationUser extends Construct {
  /** The IAM user whose access key the replicator uses. */
  public readonly user: iam.User;

  /**
   * The role that holds the rights and that only `user` may assume (with the external id).
   *
   * Only in assume-role mode (`assumeRole`).
   */
  public readonly role?: iam.Role;

  /**
   * The secret holding the user's access key in the JSON shape of the source construct's
   * `credentialsSecret`: `{"user", "accesskey", "secretaccesskey", "partition", "accountid"}`, and
   * in assume-role mode also `"rolearn"` and `"externalid"`. Copy its value into the source
   * construct's secret (see `createAccessKey`).
   *
   * Only with `createAccessKey`.
   */
  public readonly accessKeySecret?: secretsmanager.ISecret;

  /**
   * The S3 (and KMS) rights of the replicator, for review: attached as one policy to `role` in
   * assume-role mode, otherwise to `user`.
   */
  public readonly policyDocument: iam.PolicyDocument;

  constructor(scope: Construct, id: string, props: DestinationReplicationUserProps) {
    super(scope, id);

    const settings = validateDestinationUser(props);

    // --- Rights --------------------------------------------------------------------------------
    const { statements, objectArns } = replicationRights(this, props, settings);
    this.policyDocument = new iam.PolicyDocument({ statements });

    // --- Identity ------------------------------------------------------------------------------
    this.user = new iam.User(this, 'User', { userName: props.userName, path: props.path });
    const rights = new iam.Policy(this, 'ReplicationRights', { document: this.policyDocument });

    if (props.assumeRole) {
      this.role = new iam.Role(this, 'Role', {
        roleName: props.assumeRole.roleName,
        description: 'Writes cross-partition replicas into the destination bucket; assumed only by the replication user',
        assumedBy: new iam.ArnPrincipal(this.user.userArn),
        externalIds: [props.assumeRole.externalId],
        maxSessionDuration: settings.maxSessionDuration,
      });
      rights.attachToRole(this.role);
      new iam.Policy(this, 'AssumeRoleRights', {
        users: [this.user],
        statements: [new iam.PolicyStatement({
          sid: 'AssumeReplicationRole',
          actions: ['sts:AssumeRole'],
          resources: [this.role.roleArn],
        })],
      });
    } else {
      rights.attachToUser(this.user);
    }

    // --- Access key ----------------------------------------------------------------------------
    if (settings.createAccessKey) {
      const accessKey = new iam.AccessKey(this, 'AccessKey', { user: this.user });
      const plain = (value: string) => SecretValue.unsafePlainText(value);
      this.accessKeySecret = new secretsmanager.Secret(this, 'AccessKeySecret', {
        description: 'Access key of the cross-partition replication user, in the JSON shape of the source ' +
          'PartitionReplicatedBucket\'s credentialsSecret: copy this value into that secret in the source partition.',
        // Only the names, ids and ARNs are plain text; the secret access key is a reference to the
        // AccessKey's attribute, so the template never contains it.
        secretObjectValue: {
          user: plain(this.user.userName),
          accesskey: plain(accessKey.accessKeyId),
          secretaccesskey: accessKey.secretAccessKey,
          partition: plain(Aws.PARTITION),
          accountid: plain(Aws.ACCOUNT_ID),
          ...(this.role && props.assumeRole
            ? { rolearn: plain(this.role.roleArn), externalid: plain(props.assumeRole.externalId) }
            : {}),
        },
      });
    }

    this.suppressNagFindings(rights, objectArns);
  }

  /**
   * cdk-nag findings that are deliberate, recorded as cdk-nag metadata on the resources so that
   * consumers who run cdk-nag see them suppressed, with the reason, without configuring anything.
   */
  private suppressNagFindings(rights: iam.Policy, objectArns: string[]) {
    const stack = Stack.of(this);
    addNagSuppressions(rights, [{
      id: 'AwsSolutions-IAM5',
      reason: 'The replicator writes any object key (only under the configured prefixes) of the destination bucket: ' +
        'the wildcards are that bucket\'s object ARNs, with only the write, tag and delete actions replication makes.',
      appliesTo: objectArns.map((arn) => `Resource::${flattenCfnReference(stack.resolve(arn))}`),
    }]);

    if (this.accessKeySecret) {
      addNagSuppressions(this.accessKeySecret, [{
        id: 'AwsSolutions-SMG4',
        reason: 'The secret holds an IAM user access key that Secrets Manager rotation cannot hand to the other ' +
          'partition; the operator rotates it by the README runbook, in which two keys overlap so replication never stops.',
      }]);
    }
  }
}
