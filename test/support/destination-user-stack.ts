import { App, Duration, Environment, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { logicalId } from './template-queries';
import { DestinationReplicationUser, DestinationReplicationUserProps } from '../../src';

/** The environment of the stacks the destination tests build (a GovCloud destination). */
export const FIXED_ENV: Environment = { account: '222222222222', region: 'us-gov-west-1' };
const ID = 'Destination';

export type PropsFor = (stack: Stack) => Partial<DestinationReplicationUserProps>;

/** A stack in its own app with a versioned bucket and the construct; `props` may create resources in the stack. */
export function build(props: Partial<DestinationReplicationUserProps> | PropsFor = {}, env: Environment | undefined = FIXED_ENV) {
  const app = new App();
  const stack = new Stack(app, 'Stack', { env });
  const bucket = new s3.Bucket(stack, 'Replicas', {
    versioned: true,
    enforceSSL: true,
    serverAccessLogsPrefix: 'logs/',
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  });
  const extra = typeof props === 'function' ? props(stack) : props;
  const construct = new DestinationReplicationUser(stack, ID, { bucket, ...extra });
  return { app, stack, bucket, construct };
}

/** `build`, and the stack's template. */
export function synth(props: Partial<DestinationReplicationUserProps> | PropsFor = {}, env?: Environment) {
  const built = build(props, env);
  return { ...built, template: Template.fromStack(built.stack) };
}

/** A KMS key with rotation (so cdk-nag has nothing to say about the key itself). */
export const withKey = (extra: Partial<DestinationReplicationUserProps> = {}): PropsFor =>
  (stack) => ({ kmsKey: new kms.Key(stack, 'ReplicaKey', { enableKeyRotation: true }), ...extra });

/** Every option at once, with `extra` on top. */
export const everything = (extra: Partial<DestinationReplicationUserProps> = {}): PropsFor => withKey({
  prefixes: ['reports/', 'exports/2024/'],
  allowVersionDeletes: true,
  allowListing: true,
  userName: 'partition-replicator',
  path: '/replication/',
  createAccessKey: true,
  assumeRole: { externalId: 'replication-from-aws', roleName: 'partition-replication', maxSessionDuration: Duration.hours(2) },
  ...extra,
});
export const EVERYTHING = everything();

/** The one policy holding the replication rights, found by its logical id prefix. */
export function rightsPolicy(template: Template): any {
  const policies = Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([id]) => id.startsWith(`${ID}ReplicationRights`))
    .map(([, policy]) => policy);
  expect(policies).toHaveLength(1);
  return policies[0];
}

/** Every policy attached to the user (by the Users property of AWS::IAM::Policy). */
export function userPolicies(template: Template, stack: Stack, construct: DestinationReplicationUser): any[] {
  return Object.values(template.findResources('AWS::IAM::Policy', {
    Properties: { Users: Match.arrayWith([{ Ref: logicalId(stack, construct.user) }]) },
  }));
}

