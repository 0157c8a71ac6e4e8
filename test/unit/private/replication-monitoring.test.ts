import { Match } from 'aws-cdk-lib/assertions';
import { synth } from '../../support/replicated-bucket-stack';
import { logicalId } from '../../support/template-queries';

test('an alarm watches both dead-letter queues', () => {
  const { template, stack, construct } = synth();
  const queueName = (queue: { node: { defaultChild?: unknown } }) => ({
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, queue), 'QueueName'] } }],
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Namespace: 'AWS/SQS',
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    Threshold: 1,
    EvaluationPeriods: 1,
    TreatMissingData: 'notBreaching',
    Metrics: Match.arrayWith([
      Match.objectLike({ Expression: 'FILL(fifoDlq, 0) + FILL(routerDlq, 0)' }),
      { Id: 'fifoDlq', MetricStat: { Metric: queueName(construct.deadLetterQueue), Period: 60, Stat: 'Maximum' }, ReturnData: false },
      { Id: 'routerDlq', MetricStat: { Metric: queueName(construct.routerDeadLetterQueue), Period: 60, Stat: 'Maximum' }, ReturnData: false },
    ]),
  });
});
