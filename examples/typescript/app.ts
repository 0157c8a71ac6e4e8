// The README's example app: a destination stack (deployed with credentials of the destination
// partition) and a source stack (deployed with credentials of the source partition) in one CDK app.
// The consumer tests synthesize it against the packed library, and `npx projen demo` runs the
// handlers it synthesizes, so this file cannot drift from what the README promises.
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DestinationReplicationUser, PartitionReplicatedBucket } from 'cdk-partition-replicated-bucket';

const app = new App();

// Destination partition (aws-us-gov): the bucket and the identity that may write into it.
const destination = new Stack(app, 'Replicas', { env: { account: '222222222222', region: 'us-gov-west-1' } });
const replicas = new s3.Bucket(destination, 'Bucket', {
  bucketName: 'reports-replica',
  versioned: true,
  enforceSSL: true,
  // Backstop for large copies whose upload was never completed or aborted (see Large objects).
  lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(7) }],
});
new DestinationReplicationUser(destination, 'Writer', {
  bucket: replicas,
  prefixes: ['reports/'], // the same prefixes as the source construct
  createAccessKey: true, // the key, ready to copy, in writer.accessKeySecret
});

// Source partition (aws): the replicated bucket.
const source = new Stack(app, 'Reports', { env: { account: '111111111111', region: 'us-east-1' } });
new PartitionReplicatedBucket(source, 'Reports', {
  destinationBucketName: 'reports-replica',
  destinationRegion: 'us-gov-west-1',
  prefixes: ['reports/'],
});

app.synth();
