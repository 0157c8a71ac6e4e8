import { CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PartitionReplicatedBucket, PartitionReplicatedBucketProps } from '../../../src';
import { COPY_HANDOVER_RESERVE_SECONDS, ENV } from '../../../src/runtime/contract/replication-environment';
import { REQUIRED, build, synth } from '../../support/replicated-bucket-stack';
import { functionEnvironment, logicalId } from '../../support/template-queries';

describe('validation', () => {
  const manyPrefixes = Array.from({ length: 11 }, (_, i) => `p${i}/`);
  test.each<[string, Partial<PartitionReplicatedBucketProps>, string | RegExp]>([
    ['bucket name too short', { destinationBucketName: 'ab' }, 'destinationBucketName "ab" must be 3 to 63 characters long'],
    ['bucket name with capitals', { destinationBucketName: 'My_Bucket' }, 'destinationBucketName "My_Bucket" may contain only lowercase letters'],
    ['bucket name ending in a hyphen', { destinationBucketName: 'bucket-' }, 'destinationBucketName "bucket-" must start and end with a lowercase letter or a digit'],
    ['bucket name with adjacent dots', { destinationBucketName: 'my..bucket' }, 'destinationBucketName "my..bucket" must not contain two adjacent dots'],
    ['bucket name like an IP address', { destinationBucketName: '192.168.10.20' }, 'destinationBucketName "192.168.10.20" must not be formatted as an IP address'],
    ['bucket name with the reserved prefix xn--', { destinationBucketName: 'xn--abc' },
      'destinationBucketName "xn--abc" must not start with the reserved prefix "xn--" or "sthree-"'],
    ['bucket name with the reserved prefix sthree-', { destinationBucketName: 'sthree-abc' },
      'destinationBucketName "sthree-abc" must not start with the reserved prefix "xn--" or "sthree-"'],
    ['bucket name with the reserved suffix -s3alias', { destinationBucketName: 'abc-s3alias' },
      'destinationBucketName "abc-s3alias" must not end with the reserved suffix "-s3alias" or "--ol-s3"'],
    ['bucket name with the reserved suffix --ol-s3', { destinationBucketName: 'abc--ol-s3' },
      'destinationBucketName "abc--ol-s3" must not end with the reserved suffix "-s3alias" or "--ol-s3"'],
    ['region without number', { destinationRegion: 'us-gov-west' }, 'destinationRegion "us-gov-west" is not a region name (for example "us-gov-west-1")'],
    ['unknown partition', { destinationPartition: 'aws-mars' }, 'destinationPartition "aws-mars" is not a known partition'],
    ['partition of another region', { destinationPartition: 'aws-cn' },
      'destinationPartition "aws-cn" does not match destinationRegion "us-gov-west-1", which is in partition "aws-us-gov"'],
    ['malformed KMS key ARN', { destinationKmsKeyArn: 'alias/replicas' }, 'destinationKmsKeyArn "alias/replicas" is not a KMS key or alias ARN'],
    ['KMS key of another partition', { destinationKmsKeyArn: 'arn:aws:kms:us-gov-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      'destinationKmsKeyArn is in partition "aws" but the destination bucket is in partition "aws-us-gov"'],
    ['KMS key of another region', { destinationKmsKeyArn: 'arn:aws-us-gov:kms:us-gov-east-1:222222222222:key/1234abcd' },
      'destinationKmsKeyArn is in region "us-gov-east-1" but the destination bucket is in region "us-gov-west-1"'],
    ['Bucket Key without a destination KMS key', { destinationBucketKeyEnabled: true },
      'destinationBucketKeyEnabled needs destinationKmsKeyArn: an S3 Bucket Key applies to SSE-KMS only'],
    ['Express One Zone as the replicas\' class', { destinationStorageClass: new s3.StorageClass('EXPRESS_ONEZONE') },
      'destinationStorageClass EXPRESS_ONEZONE cannot be the replicas\' class: S3 Express One Zone stores objects only in directory buckets, ' +
      'which have no versioning, and the destination must be a versioned general purpose bucket; use one of STANDARD, STANDARD_IA, ONEZONE_IA, ' +
      'INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE, REDUCED_REDUNDANCY'],
    ['an Outposts class in China', { destinationRegion: 'cn-north-1', destinationStorageClass: new s3.StorageClass('OUTPOSTS') },
      'destinationStorageClass OUTPOSTS cannot be the replicas\' class: a versioned general purpose bucket in partition aws-cn does not take it; use one of STANDARD,'],
    ['a misspelt class', { destinationStorageClass: new s3.StorageClass('STANDARD_INFREQUENT') },
      'destinationStorageClass STANDARD_INFREQUENT cannot be the replicas\' class'],
    ['endpoint that is not a URL', { destinationEndpoint: 's3.example.com' }, 'destinationEndpoint "s3.example.com" is not an http:// or https:// URL'],
    ['endpoint of another scheme', { destinationEndpoint: 'ftp://s3.example.com' }, 'destinationEndpoint "ftp://s3.example.com" is not an http:// or https:// URL'],
    ['endpoint with credentials', { destinationEndpoint: 'https://key:secret@s3.example.com' }, 'destinationEndpoint must not contain credentials'],
    ['STS endpoint that is not a URL', { destinationStsEndpoint: 'sts.example.com' }, 'destinationStsEndpoint "sts.example.com" is not an http:// or https:// URL'],
    ['plain-HTTP endpoint', { destinationEndpoint: 'http://s3.example.com' },
      'destinationEndpoint "http://s3.example.com" uses http://, which sends the replicas (and, for STS, session credentials) unencrypted: ' +
      'use an https:// URL, or set allowInsecureEndpoints: true for a local emulator or a test'],
    ['plain-HTTP STS endpoint', { destinationStsEndpoint: 'http://localhost:5000' },
      'destinationStsEndpoint "http://localhost:5000" uses http://'],
    ['destination account of 11 digits', { destinationAccount: '22222222222' },
      'destinationAccount "22222222222" is not an AWS account id: give the 12 digits of the account that owns the destination bucket'],
    ['destination account with dashes', { destinationAccount: '2222-2222-2222' }, 'destinationAccount "2222-2222-2222" is not an AWS account id'],
    ['plain-HTTP endpoint with allowInsecureEndpoints explicitly false', { destinationEndpoint: 'http://localhost:5000', allowInsecureEndpoints: false },
      'destinationEndpoint "http://localhost:5000" uses http://'],
    ['empty prefix', { prefixes: [''] }, 'prefixes must not contain an empty string'],
    ['duplicate prefix', { prefixes: ['a/', 'a/'] }, 'prefixes contains "a/" more than once'],
    ['too many prefixes', { prefixes: manyPrefixes }, 'prefixes has 11 entries; at most 10 are supported'],
    ['wildcard in a prefix', { prefixes: ['logs/*/'] }, 'prefixes entry "logs/*/" contains * or ?'],
    ['timeout too long', { replicatorTimeout: Duration.minutes(16) }, 'replicatorTimeout is 16 minutes; it must be a whole number of seconds between 30 seconds and 15 minutes'],
    ['timeout too short', { replicatorTimeout: Duration.millis(500) }, 'replicatorTimeout is 500 millis; it must be'],
    ['timeout within the hand-over reserve', { replicatorTimeout: Duration.seconds(15) },
      'replicatorTimeout is 15 seconds; it must be a whole number of seconds between 30 seconds and 15 minutes (every invocation keeps 15 s back to hand a large copy over'],
    ['timeout leaving less copy time than the reserve', { replicatorTimeout: Duration.seconds(29) }, 'replicatorTimeout is 29 seconds; it must be'],
    ['timeout not whole seconds', { replicatorTimeout: Duration.millis(1500) }, 'replicatorTimeout is 1 second 500 millis; it must be a whole number of seconds'],
    ['memory too small', { replicatorMemorySize: 64 }, 'replicatorMemorySize is 64; it must be a whole number between 128 and 10240 (MiB)'],
    ['memory too large', { replicatorMemorySize: 10241 }, 'replicatorMemorySize is 10241'],
    ['receive count zero', { maxReceiveCount: 0 }, 'maxReceiveCount is 0; it must be a whole number between 1 and 1000'],
    ['receive count too large', { maxReceiveCount: 1001 }, 'maxReceiveCount is 1001'],
    ['SLO under a minute', { replicationSlo: Duration.seconds(59) },
      'replicationSlo is 59 seconds; it must be a whole number of seconds between 1 minute and 14 days (the queues keep messages 14 days)'],
    ['SLO beyond the retention', { replicationSlo: Duration.days(15) }, 'replicationSlo is 1296000 seconds; it must be'],
    ['SLO not whole seconds', { replicationSlo: Duration.millis(90_500) }, 'replicationSlo is 90.5 seconds; it must be a whole number of seconds'],
    ['maxConcurrency below the SQS minimum', { maxConcurrency: 1 }, 'maxConcurrency is 1; it must be a whole number between 2 and 1000'],
    ['maxConcurrency above the SQS maximum', { maxConcurrency: 1001 }, 'maxConcurrency is 1001'],
    ['maxConcurrency not whole', { maxConcurrency: 2.5 }, 'maxConcurrency is 2.5'],
    ['router reservation of zero (it would never run)', { routerReservedConcurrency: 0 }, 'routerReservedConcurrency is 0; it must be a whole number between 1 and 1000'],
    ['runtime of another language', { runtime: lambda.Runtime.PYTHON_3_12 },
      'runtime "python3.12" is not a Node.js runtime; the handlers are Node.js bundles (for example lambda.Runtime.NODEJS_22_X)'],
    ['runtime older than the bundles', { runtime: lambda.Runtime.NODEJS_20_X },
      'runtime "nodejs20.x" is older than the Node.js 22 the handlers are built for: use nodejs22.x or newer'],
  ])('%s', (_name, props, message) => {
    expect(() => build(props)).toThrow(`PartitionReplicatedBucket: ${message}`);
  });

  test('destinationAccount reaches the replicator and the backfill as the expected bucket owner', () => {
    const { template, stack, construct } = synth({ destinationAccount: '222222222222' });
    expect(functionEnvironment(template, stack, construct.replicator)).toMatchObject({ [ENV.destinationAccount]: '222222222222' });
    expect(functionEnvironment(template, stack, construct.backfill)).toMatchObject({ [ENV.destinationAccount]: '222222222222' });
  });

  test('allowInsecureEndpoints lets http:// endpoints (a local emulator) through to the environment', () => {
    const { template, stack, construct } = synth({
      destinationEndpoint: 'http://localhost:5001',
      destinationStsEndpoint: 'http://localhost:5001',
      allowInsecureEndpoints: true,
    });
    expect(functionEnvironment(template, stack, construct.replicator)).toMatchObject({
      [ENV.destinationEndpoint]: 'http://localhost:5001',
      [ENV.destinationStsEndpoint]: 'http://localhost:5001',
    });
  });

  test('the shortest accepted replicatorTimeout is twice the hand-over reserve', () => {
    const { template, stack, construct } = synth({ replicatorTimeout: Duration.seconds(2 * COPY_HANDOVER_RESERVE_SECONDS) });
    expect(template.toJSON().Resources[logicalId(stack, construct.replicator)].Properties).toMatchObject({ Timeout: 30 });
  });

  test('an unresolved (token) replicatorTimeout is rejected', () => {
    const stack = new Stack();
    const seconds = new CfnParameter(stack, 'Timeout', { type: 'Number' }).valueAsNumber;
    expect(() => new PartitionReplicatedBucket(stack, 'R', { ...REQUIRED, replicatorTimeout: Duration.seconds(seconds) }))
      .toThrow('PartitionReplicatedBucket: replicatorTimeout must be a concrete duration');
  });

  test('an unresolved (token) replicationSlo is rejected', () => {
    const stack = new Stack();
    const minutes = new CfnParameter(stack, 'Slo', { type: 'Number' }).valueAsNumber;
    expect(() => new PartitionReplicatedBucket(stack, 'R', { ...REQUIRED, replicationSlo: Duration.minutes(minutes) }))
      .toThrow('PartitionReplicatedBucket: replicationSlo must be a concrete duration');
  });

  test('a token region needs an explicit partition', () => {
    const stack = new Stack();
    const region = new CfnParameter(stack, 'Region').valueAsString;
    expect(() => new PartitionReplicatedBucket(stack, 'R', { ...REQUIRED, destinationRegion: region }))
      .toThrow('PartitionReplicatedBucket: destinationRegion is a token, so the partition cannot be derived from it: set destinationPartition');
  });

  test('tokens are accepted where validation cannot see the value', () => {
    const stack = new Stack();
    const parameter = (id: string) => new CfnParameter(stack, id).valueAsString;
    const construct = new PartitionReplicatedBucket(stack, 'R', {
      destinationBucketName: parameter('Bucket'),
      destinationRegion: parameter('Region'),
      destinationPartition: 'aws-us-gov',
      destinationKmsKeyArn: parameter('Key'),
      destinationEndpoint: parameter('Endpoint'),
    });
    const template = Template.fromStack(stack);
    expect(functionEnvironment(template, stack, construct.replicator)).toMatchObject({
      [ENV.destinationBucket]: { Ref: 'Bucket' },
      [ENV.destinationRegion]: { Ref: 'Region' },
      [ENV.destinationPartition]: 'aws-us-gov',
    });
  });
});
