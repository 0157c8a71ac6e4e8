import { synth } from '../../support/replicated-bucket-stack';

/** The dashboard's widgets, its body's references (bucket, queues, functions) replaced by `REF`. */
function dashboardWidgets(template: ReturnType<typeof synth>['template']): any[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as any[];
  expect(dashboards).toHaveLength(1);
  const [, parts] = dashboards[0].Properties.DashboardBody['Fn::Join'];
  const body = (parts as unknown[]).map((part) => (typeof part === 'string' ? part : 'REF')).join('');
  return JSON.parse(body).widgets;
}

/** Each graph's title and the metric names (or expressions) it draws, left and right. */
function graphs(widgets: any[]): Record<string, string[]> {
  return Object.fromEntries(widgets.map((widget) => [
    widget.properties.title,
    [...(widget.properties.metrics ?? [])].map((metric: any[]) => metric.filter((part) => typeof part === 'string')[1]),
  ]));
}

describe('dashboard', () => {
  const { template, construct } = synth();
  const widgets = dashboardWidgets(template);
  const drawn = graphs(widgets);

  test('is created by default and exposed', () => {
    expect(construct.dashboard).toBeDefined();
  });

  test('latency percentiles (p50, p90, p99, maximum) against the SLO line', () => {
    const latency = widgets.find((widget) => widget.properties.title.startsWith('Replication latency'));
    const stats = latency.properties.metrics.map((metric: any[]) => metric[metric.length - 1].stat);
    expect(stats).toEqual(['p50', 'p90', 'p99', 'Maximum']);
    expect(latency.properties.metrics.every((metric: any[]) => metric.includes('ReplicationLatency'))).toBe(true);
    expect(latency.properties.annotations.horizontal).toEqual([{ value: 900_000, label: 'SLO 15 minutes', color: '#d62728', yAxis: 'left' }]);
  });

  test('objects and bytes replicated, the backlog and its age, failures and skips by reason, dead letters, continuations', () => {
    expect(drawn['Objects and bytes replicated']).toEqual(['ObjectsReplicated', 'DeleteMarkersReplicated', 'TagSetsReplicated', 'BytesReplicated']);
    expect(drawn['Backlog: messages waiting, in flight, oldest age (s)']).toEqual([
      'ApproximateNumberOfMessagesVisible', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateAgeOfOldestMessage',
    ]);
    expect(drawn['Failures and skips by reason']).toEqual([
      'ReplicationFailures', 'MessagesDeadLettered', 'CredentialsSecretNotFilled',
      'StaleEventsSkipped', 'SourceVersionGone', 'ArchivedVersionsSkipped', 'VersionsFilteredByTags',
      'CustomerKeyVersionsSkipped', 'ReplicasSkipped', 'DeleteMarkersAlreadyAtDestination', 'EventsSkipped',
    ]);
    expect(drawn['Dead-letter queues: messages']).toEqual(['ApproximateNumberOfMessagesVisible', 'ApproximateNumberOfMessagesVisible']);
    expect(drawn['Copy continuations and repairs']).toEqual(['CopiesContinued', 'ReplicasRepaired', 'VersionDeletesReplicated']);
  });

  test.each(['Router', 'Replicator', 'Backfill'])('%s: errors, throttles, duration and concurrency', (name) => {
    expect(drawn[`${name}: errors and throttles`]).toEqual(['Errors', 'Throttles']);
    expect(drawn[`${name}: duration (ms)`]).toEqual(['Duration', 'Duration']);
    expect(drawn[`${name}: concurrent executions`]).toEqual(['ConcurrentExecutions']);
  });

  test('every graph of the handlers\' metrics is in this replication\'s dimensions', () => {
    const own = widgets.flatMap((widget) => widget.properties.metrics ?? [])
      .filter((metric: any[]) => metric[0] === 'PartitionReplicatedBucket');
    expect(own.length).toBeGreaterThan(15);
    for (const metric of own) {
      expect(metric.slice(2, 10)).toEqual(['DestinationBucket', 'dest-bucket', 'DestinationPartition', 'aws-us-gov', 'SourceBucket', 'REF', 'service', 'replicator']);
    }
  });

  test('createDashboard: false leaves it out', () => {
    const without = synth({ createDashboard: false });
    without.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(without.construct.dashboard).toBeUndefined();
  });
});
