import { App, Environment, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PartitionReplicatedBucket, PartitionReplicatedBucketProps } from '../../src';

/** The environment of the stacks the construct tests build (a commercial-partition source). */
export const FIXED_ENV: Environment = { account: '111111111111', region: 'us-east-1' };
/** The props every `PartitionReplicatedBucket` needs; tests add theirs on top. */
export const REQUIRED: PartitionReplicatedBucketProps = { destinationBucketName: 'dest-bucket', destinationRegion: 'us-gov-west-1' };

/** A stack in its own app with one construct. */
export function build(props: Partial<PartitionReplicatedBucketProps> = {}, env: Environment | undefined = FIXED_ENV) {
  const app = new App();
  const stack = new Stack(app, 'Stack', { env });
  const construct = new PartitionReplicatedBucket(stack, 'Replication', { ...REQUIRED, ...props });
  return { app, stack, construct };
}

/** `build`, and the stack's template. */
export function synth(props: Partial<PartitionReplicatedBucketProps> = {}, env?: Environment) {
  const built = build(props, env);
  return { ...built, template: Template.fromStack(built.stack) };
}
