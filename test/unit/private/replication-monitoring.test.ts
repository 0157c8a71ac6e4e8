import { readFileSync } from 'fs';
import { join } from 'path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { PartitionReplicatedBucket } from '../../../src';
import { REQUIRED, synth } from '../../support/replicated-bucket-stack';
import { logicalId } from '../../support/template-queries';

/** The alarm whose construct id is `id`, as the template has it. */
function alarmProperties(template: Template, stack: Stack, construct: PartitionReplicatedBucket, id: string): any {
  const alarm = construct.alarms.find((each) => each.node.id === id);
  expect(alarm).toBeDefined();
  return template.toJSON().Resources[logicalId(stack, alarm!)].Properties;
}

const queueMetric = (stack: Stack, queue: { node: { defaultChild?: unknown } }, metricName: string) => ({
  Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, queue), 'QueueName'] } }],
  MetricName: metricName,
  Namespace: 'AWS/SQS',
});

const handlerDimensions = (stack: Stack, construct: PartitionReplicatedBucket, service: string) => [
  { Name: 'DestinationBucket', Value: 'dest-bucket' },
  { Name: 'DestinationPartition', Value: 'aws-us-gov' },
  { Name: 'SourceBucket', Value: { Ref: logicalId(stack, construct.bucket) } },
  { Name: 'service', Value: service },
];

/** Asserts with the CDK's matchers on the one alarm whose construct id is `id`. */
function expectAlarm(template: Template, stack: Stack, construct: PartitionReplicatedBucket, id: string, properties: object) {
  const alarm = construct.alarms.find((each) => each.node.id === id)!;
  const logical = logicalId(stack, alarm);
  Template.fromJSON({ Resources: { [logical]: template.toJSON().Resources[logical] } }).hasResourceProperties('AWS::CloudWatch::Alarm', properties);
}

describe('alarms', () => {
  const { template, stack, construct } = synth();
  const alarm = (id: string) => alarmProperties(template, stack, construct, id);
  const expectMathAlarm = (id: string, properties: object) => expectAlarm(template, stack, construct, id, properties);

  test('are exposed, one per concern, each with a description that says what it means', () => {
    expect(construct.alarms.map((each) => each.node.id)).toEqual([
      'PendingAgeAlarm', 'LatencyAlarm', 'FailureAlarm', 'DeadLetterAlarm', 'NewDeadLettersAlarm', 'DeadLetterExpiryAlarm',
      'CredentialsSecretAlarm', 'ReplicatorErrorsAlarm', 'ReplicatorThrottlesAlarm', 'RouterErrorsAlarm', 'RouterThrottlesAlarm',
    ]);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 11);
    for (const each of construct.alarms) {
      const properties = alarm(each.node.id);
      expect(JSON.stringify(properties.AlarmDescription)).toContain('Cross-partition replication: ');
      expect(properties.TreatMissingData).toBe('notBreaching');
    }
    expect(construct.alarms).toContain(construct.deadLetterAlarm);
  });

  test('the oldest waiting message older than the 15-minute default SLO', () => {
    expect(alarm('PendingAgeAlarm')).toMatchObject({
      ...queueMetric(stack, construct.queue, 'ApproximateAgeOfOldestMessage'),
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 900,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
    });
    expect(alarm('PendingAgeAlarm').AlarmDescription).toContain('If CredentialsSecretNotFilled is published, fill in the credentials secret');
  });

  test('the 99th percentile of ReplicationLatency over 5 minutes above the SLO, in milliseconds', () => {
    expect(alarm('LatencyAlarm')).toMatchObject({
      Namespace: 'PartitionReplicatedBucket',
      MetricName: 'ReplicationLatency',
      Dimensions: handlerDimensions(stack, construct, 'replicator'),
      ExtendedStatistic: 'p99',
      Unit: 'Milliseconds',
      Period: 300,
      Threshold: 900_000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  test('the SLO prop moves both SLO alarms', () => {
    const custom = synth({ replicationSlo: Duration.minutes(5) });
    const customAlarm = (id: string) => alarmProperties(custom.template, custom.stack, custom.construct, id);
    expect(customAlarm('PendingAgeAlarm').Threshold).toBe(300);
    expect(customAlarm('LatencyAlarm').Threshold).toBe(300_000);
    expect(customAlarm('PendingAgeAlarm').AlarmDescription).toContain('(5 minutes)');
  });

  test('replication failures in 3 consecutive 5-minute periods', () => {
    expect(alarm('FailureAlarm')).toMatchObject({
      Namespace: 'PartitionReplicatedBucket',
      MetricName: 'ReplicationFailures',
      Dimensions: handlerDimensions(stack, construct, 'replicator'),
      Statistic: 'Sum',
      Unit: 'Count',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
  });

  test('any message in either dead-letter queue, for as long as one is there', () => {
    expectMathAlarm('DeadLetterAlarm', {
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(fifoDlq, 0) + FILL(routerDlq, 0)' }),
        { Id: 'fifoDlq', MetricStat: { Metric: queueMetric(stack, construct.deadLetterQueue, 'ApproximateNumberOfMessagesVisible'), Period: 60, Stat: 'Maximum' }, ReturnData: false },
        { Id: 'routerDlq', MetricStat: { Metric: queueMetric(stack, construct.routerDeadLetterQueue, 'ApproximateNumberOfMessagesVisible'), Period: 60, Stat: 'Maximum' }, ReturnData: false },
      ]),
    });
  });

  test('new dead letters: messages sent in the last minute, so it returns to OK and notifies again for new failures', () => {
    expectMathAlarm('NewDeadLettersAlarm', {
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(fifoDlq, 0) + FILL(routerDlq, 0)' }),
        { Id: 'fifoDlq', MetricStat: { Metric: queueMetric(stack, construct.deadLetterQueue, 'NumberOfMessagesSent'), Period: 60, Stat: 'Sum' }, ReturnData: false },
        { Id: 'routerDlq', MetricStat: { Metric: queueMetric(stack, construct.routerDeadLetterQueue, 'NumberOfMessagesSent'), Period: 60, Stat: 'Sum' }, ReturnData: false },
      ]),
    });
  });

  test('a dead letter 10 days old, four days before SQS deletes it', () => {
    expectMathAlarm('DeadLetterExpiryAlarm', {
      Threshold: 864_000,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'MAX([FILL(fifoDlq, 0), FILL(routerDlq, 0)])' }),
        Match.objectLike({ Id: 'fifoDlq', MetricStat: Match.objectLike({ Metric: queueMetric(stack, construct.deadLetterQueue, 'ApproximateAgeOfOldestMessage') }) }),
        Match.objectLike({ Id: 'routerDlq', MetricStat: Match.objectLike({ Metric: queueMetric(stack, construct.routerDeadLetterQueue, 'ApproximateAgeOfOldestMessage') }) }),
      ]),
    });
  });

  test('the credentials secret still unfilled', () => {
    expect(alarm('CredentialsSecretAlarm')).toMatchObject({
      MetricName: 'CredentialsSecretNotFilled', Dimensions: handlerDimensions(stack, construct, 'replicator'), Statistic: 'Sum', Threshold: 1,
    });
  });

  test.each([['Replicator', 'replicator'], ['Router', 'router']] as const)('%s errors and throttles in any 5 minutes', (prefix, field) => {
    const functionName = { Name: 'FunctionName', Value: { Ref: logicalId(stack, construct[field]) } };
    for (const [suffix, metricName] of [['ErrorsAlarm', 'Errors'], ['ThrottlesAlarm', 'Throttles']]) {
      expect(alarm(`${prefix}${suffix}`)).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: metricName,
        Dimensions: [functionName],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  test('the README\'s alarm table names every alarm, and no other', () => {
    const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    const monitoring = readme.slice(readme.indexOf('\n## Monitoring'), readme.indexOf('\n## Performance'));
    const rows = monitoring.split('\n').filter((line) => /^\| `\w+Alarm`/.test(line));
    const named = rows.flatMap((row) => [...row.split('|')[1].matchAll(/`(\w+Alarm)`/g)].map((match) => match[1]));
    expect(named.sort()).toEqual(construct.alarms.map((each) => each.node.id).sort());
  });

  test('have no actions without alarmTopic', () => {
    for (const each of construct.alarms) {
      expect(alarm(each.node.id).AlarmActions).toBeUndefined();
      expect(alarm(each.node.id).OKActions).toBeUndefined();
    }
  });

  test('with alarmTopic, every alarm notifies the topic of ALARM and of OK', () => {
    const stackWithTopic = new Stack();
    const topic = new sns.Topic(stackWithTopic, 'Topic');
    const withTopic = new PartitionReplicatedBucket(stackWithTopic, 'R', { ...REQUIRED, alarmTopic: topic });
    const topicTemplate = Template.fromStack(stackWithTopic);
    const topicRef = [{ Ref: logicalId(stackWithTopic, topic) }];
    for (const each of withTopic.alarms) {
      expect(alarmProperties(topicTemplate, stackWithTopic, withTopic, each.node.id)).toMatchObject({ AlarmActions: topicRef, OKActions: topicRef });
    }
  });
});
