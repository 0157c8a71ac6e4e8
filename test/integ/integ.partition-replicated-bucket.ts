// Integration test in the style of aws-cdk-lib's own: `npx projen integ:snapshot` synthesizes this
// app and compares it with the committed snapshot (integ.partition-replicated-bucket.ts.snapshot/),
// without deploying. Deployed by a maintainer (README, Development: "Integration test"), it proves
// that an object put into the source bucket arrives, byte for byte, in the destination bucket.
//
// Stand-in for two partitions: one account can hold no credentials of another partition, and an
// assertion runs in one account. So both sides are deployed into the same account and region, as
// stacks that share nothing but what an operator shares between partitions: the destination
// bucket's name and the destination user's access key. The replicator reaches the destination only
// with that key, read from its credentials secret (its own role has no rights on the destination
// bucket), so the cross-partition path runs: secret, client built from it, ExpectedBucketOwner,
// the user's least-privilege policy. What it cannot prove: a real partition boundary (endpoints and
// ARNs of another partition, a key of the wrong partition); the emulated-partition runtime tests
// (us-east-1 and us-gov-west-1) cover those.
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Aspects, CfnResource, Duration, IAspect, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { DestinationReplicationUser, PartitionReplicatedBucket } from '../../src';

/** The destination partition's side: the bucket and the user whose key the replicator writes with. */
class DestinationSide extends Stack {
  public readonly bucket: s3.Bucket;
  public readonly accessKeySecret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.bucket = new s3.Bucket(this, 'Replicas', {
      versioned: true,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    const writer = new DestinationReplicationUser(this, 'Writer', {
      bucket: this.bucket,
      prefixes: ['integ/'],
      createAccessKey: true,
    });
    this.accessKeySecret = writer.accessKeySecret!;
  }
}

/** The source partition's side: the replicated bucket, told only the destination bucket's name and region. */
class SourceSide extends Stack {
  public readonly replicated: PartitionReplicatedBucket;

  constructor(scope: Construct, id: string, props: StackProps & { destinationBucketName: string }) {
    super(scope, id, props);
    const bucket = new s3.Bucket(this, 'Originals', {
      versioned: true,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    this.replicated = new PartitionReplicatedBucket(this, 'Replicated', {
      bucket,
      destinationBucketName: props.destinationBucketName,
      // Same region as this stack (the stand-in); a token, so the partition is named too.
      destinationRegion: this.region,
      destinationPartition: this.partition,
      prefixes: ['integ/'],
      replicatorTimeout: Duration.minutes(2),
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}

/**
 * The operator's one manual step (DestinationReplicationUser's `createAccessKey`), as a function:
 * copy the destination user's key into the source construct's credentials secret. The key never
 * appears in a template, an event, a response or a log: the function reads and writes it and
 * returns only `{"handedOver": true}` (an AwsApiCall would log the secret value it reads).
 */
class KeyHandover extends Stack {
  public readonly handover: lambda.IFunction;

  constructor(scope: Construct, id: string, props: StackProps & { from: secretsmanager.ISecret; to: secretsmanager.ISecret }) {
    super(scope, id, props);
    const handover = new lambda.Function(this, 'Handover', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      timeout: Duration.seconds(30),
      environment: { FROM_SECRET: props.from.secretArn, TO_SECRET: props.to.secretArn },
      code: lambda.Code.fromInline([
        "const { SecretsManagerClient, GetSecretValueCommand, PutSecretValueCommand } = require('@aws-sdk/client-secrets-manager');",
        'const secrets = new SecretsManagerClient({});',
        'exports.handler = async () => {',
        '  const key = await secrets.send(new GetSecretValueCommand({ SecretId: process.env.FROM_SECRET }));',
        '  await secrets.send(new PutSecretValueCommand({ SecretId: process.env.TO_SECRET, SecretString: key.SecretString }));',
        '  return { handedOver: true };',
        '};',
      ].join('\n')),
    });
    props.from.grantRead(handover);
    props.to.grantWrite(handover);
    this.handover = handover;
  }
}

const app = new App();
const destination = new DestinationSide(app, 'PrbIntegDestination');
const source = new SourceSide(app, 'PrbIntegSource', { destinationBucketName: destination.bucket.bucketName });
const keyHandover = new KeyHandover(app, 'PrbIntegKeyHandover', {
  from: destination.accessKeySecret,
  to: source.replicated.credentialsSecret,
});

const integ = new IntegTest(app, 'PartitionReplicatedBucketInteg', {
  testCases: [destination, source, keyHandover],
});

// 1. Hand the destination key over, as the operator would after the first deploy.
const handedOver = integ.assertions.invokeFunction({ functionName: keyHandover.handover.functionName })
  .expect(ExpectedResult.objectLike({ StatusCode: 200, Payload: Match.serializedJson({ handedOver: true }) }));

// 2. Put an object into the source bucket (under the replicated prefix).
const KEY = 'integ/hello across partitions.txt';
const BODY = 'Replicated across partitions by cdk-partition-replicated-bucket.\n';
const put = integ.assertions.awsApiCall('S3', 'putObject', {
  Bucket: source.replicated.bucket.bucketName,
  Key: KEY,
  Body: BODY,
  ContentType: 'text/plain; charset=utf-8',
});

// 3. Wait until the replica exists in the destination bucket with the same bytes, ETag and
//    content type as the source object.
const replica = integ.assertions.awsApiCall('S3', 'getObject', { Bucket: destination.bucket.bucketName, Key: KEY })
  .expect(ExpectedResult.objectLike({
    Body: BODY,
    ETag: put.getAttString('ETag'),
    ContentType: 'text/plain; charset=utf-8',
  }))
  .waitForAssertions({ totalTimeout: Duration.minutes(10), interval: Duration.seconds(15) });

handedOver.next(put).next(replica);

// integ-tests-alpha salts every assertion with Date.now(), so that a deployment always re-runs it.
// integ-runner synthesizes snapshots with its dummy environment (CDK_INTEG_ACCOUNT=12345678): there
// a fixed salt keeps the committed snapshot byte-identical across clones and runs (the assertion
// stack is not compared anyway). A real deployment keeps the timestamps, so after the update
// workflow has deployed the committed snapshot, the assertions run again against the new code.
if (process.env.CDK_INTEG_ACCOUNT === '12345678') {
  Aspects.of(app).add(new class implements IAspect {
    public visit(node: IConstruct) {
      if (node instanceof CfnResource && node.cfnResourceType.startsWith('Custom::DeployAssert@')) {
        node.addPropertyOverride('salt', 'snapshot');
      }
    }
  }());
}

app.synth();
