import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../../../../src/runtime/contract/metrics';
import { addMetrics, createTelemetry } from '../../../../src/runtime/contract/telemetry';
import { captureOutput } from '../../../support/capture-output';

test('the metrics namespace', () => {
  expect(METRICS_NAMESPACE).toBe('PartitionReplicatedBucket');
});

test('EMF metrics carry the service dimension in the PartitionReplicatedBucket namespace', async () => {
  const { metrics } = createTelemetry('replicator');
  metrics.addMetric('ObjectsReplicated', MetricUnit.Count, 1);
  const { lines } = await captureOutput(async () => metrics.publishStoredMetrics());

  const emf = lines.map((line) => JSON.parse(line)).find((parsed) => parsed._aws !== undefined);
  expect(emf).toBeDefined();
  expect(emf.service).toBe('replicator');
  expect(emf.ObjectsReplicated).toBe(1);
  expect(emf._aws.CloudWatchMetrics).toStrictEqual([
    expect.objectContaining({ Namespace: 'PartitionReplicatedBucket', Dimensions: [['service']] }),
  ]);
});

test('with a replication, every metric also carries its source and destination bucket and the destination partition', async () => {
  const replication = { sourceBucket: 'src-bucket', destinationBucket: 'dst-bucket', destinationPartition: 'aws-cn' };
  const { metrics } = createTelemetry('replicator', { replication });
  metrics.addMetric('ObjectsReplicated', MetricUnit.Count, 1);
  const { lines } = await captureOutput(async () => metrics.publishStoredMetrics());

  const emf = lines.map((line) => JSON.parse(line)).find((parsed) => parsed._aws !== undefined);
  expect(emf).toMatchObject({ service: 'replicator', SourceBucket: 'src-bucket', DestinationBucket: 'dst-bucket', DestinationPartition: 'aws-cn' });
  expect(emf._aws.CloudWatchMetrics[0].Dimensions[0].sort()).toEqual(['DestinationBucket', 'DestinationPartition', 'SourceBucket', 'service']);
});

test('addMetrics publishes each point under its contract name and unit', async () => {
  const telemetry = createTelemetry('backfill');
  addMetrics(telemetry, { name: 'BackfillVersionsListed', unit: 'Count', value: 7 }, { name: 'BytesReplicated', unit: 'Bytes', value: 5 });
  const { lines } = await captureOutput(async () => telemetry.metrics.publishStoredMetrics());

  const emf = lines.map((line) => JSON.parse(line)).find((parsed) => parsed._aws !== undefined);
  expect(emf.BackfillVersionsListed).toBe(7);
  expect(emf.BytesReplicated).toBe(5);
  expect(emf._aws.CloudWatchMetrics[0].Metrics).toEqual(expect.arrayContaining([
    { Name: 'BackfillVersionsListed', Unit: 'Count' }, { Name: 'BytesReplicated', Unit: 'Bytes' },
  ]));
});
