import {
  BackfillFunctionSettings,
  backfillEnvironment,
  ENV,
  readBackfillSettings,
  readReplicatorSettings,
  readRouterSettings,
  ReplicatorSettings,
  replicatorEnvironment,
  RouterSettings,
  routerEnvironment,
} from '../../../../src/runtime/contract/replication-environment';
import { EVERY_KEY } from '../../../../src/runtime/contract/replication-scope';
import { thrownBy } from '../../../support/thrown-by';

const minimalReplicator: ReplicatorSettings = {
  sourceBucket: 'source-bucket',
  scope: EVERY_KEY,
  tableName: 'ReplicationTable',
  queueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/replication.fifo',
  deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/replication-dlq.fifo',
  maxReceiveCount: 5,
  credentialsSecretId: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:dest-creds-AbCdEf',
  destinationBucket: 'destination-bucket',
  destinationRegion: 'us-gov-west-1',
  destinationPartition: 'aws-us-gov',
  destinationEndpoint: undefined,
  destinationStsEndpoint: undefined,
  destinationAccount: undefined,
  destinationKmsKeyArn: undefined,
  destinationStorageClass: undefined,
  destinationBucketKeyEnabled: false,
  replicateDeleteMarkers: true,
  replicateVersionDeletes: false,
  replicateTags: true,
};

const fullReplicator: ReplicatorSettings = {
  ...minimalReplicator,
  scope: { prefixes: ['logs/', 'data/with space+plus/', 'caf\u00e9/'] },
  destinationEndpoint: 'https://s3.us-gov-west-1.amazonaws.com',
  destinationStsEndpoint: 'https://sts.us-gov-west-1.amazonaws.com',
  destinationAccount: '444455556666',
  destinationKmsKeyArn: 'arn:aws-us-gov:kms:us-gov-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  destinationStorageClass: 'STANDARD_IA',
  destinationBucketKeyEnabled: true,
  replicateDeleteMarkers: false,
  replicateVersionDeletes: true,
  replicateTags: false,
};

const REQUIRED_REPLICATOR_VARIABLES = [
  ENV.sourceBucket,
  ENV.tableName,
  ENV.queueUrl,
  ENV.deadLetterQueueUrl,
  ENV.maxReceiveCount,
  ENV.credentialsSecretId,
  ENV.destinationBucket,
  ENV.destinationRegion,
  ENV.destinationPartition,
  ENV.replicateDeleteMarkers,
  ENV.replicateVersionDeletes,
  ENV.replicateTags,
];

describe('replicator settings', () => {
  test('round trip without optional settings', () => {
    const env = replicatorEnvironment(minimalReplicator);
    expect(env).not.toHaveProperty(ENV.destinationEndpoint);
    expect(env).not.toHaveProperty(ENV.destinationKmsKeyArn);
    expect(env).not.toHaveProperty(ENV.destinationStorageClass);
    expect(env).not.toHaveProperty(ENV.destinationBucketKeyEnabled);
    expect(readReplicatorSettings(env)).toStrictEqual(minimalReplicator);
  });

  test('round trip with every optional setting', () => {
    const env = replicatorEnvironment(fullReplicator);
    expect(env[ENV.destinationEndpoint]).toBe('https://s3.us-gov-west-1.amazonaws.com');
    expect(env[ENV.destinationStsEndpoint]).toBe('https://sts.us-gov-west-1.amazonaws.com');
    expect(env[ENV.destinationAccount]).toBe('444455556666');
    expect(env[ENV.destinationStorageClass]).toBe('STANDARD_IA');
    expect(env[ENV.destinationBucketKeyEnabled]).toBe('true');
    expect(readReplicatorSettings(env)).toStrictEqual(fullReplicator);
  });

  test.each([
    [true, true, true],
    [false, false, false],
    [true, false, true],
    [false, true, false],
  ])('round trips flags deleteMarkers=%s versionDeletes=%s tags=%s', (replicateDeleteMarkers, replicateVersionDeletes, replicateTags) => {
    const settings = { ...minimalReplicator, replicateDeleteMarkers, replicateVersionDeletes, replicateTags };
    const env = replicatorEnvironment(settings);
    expect(env[ENV.replicateDeleteMarkers]).toBe(String(replicateDeleteMarkers));
    expect(readReplicatorSettings(env)).toStrictEqual(settings);
  });

  test.each(['44445555666', '4444-5555-6666', 'arn:aws:iam::444455556666:root'])('rejects destination account %j, naming the variable', (account) => {
    const env = { ...replicatorEnvironment(minimalReplicator), [ENV.destinationAccount]: account };
    expect(() => readReplicatorSettings(env)).toThrow(`${ENV.destinationAccount} must be a 12-digit AWS account id, got "${account}"`);
  });

  test('every value is a string (Lambda environment variables)', () => {
    for (const value of Object.values(replicatorEnvironment(fullReplicator))) expect(typeof value).toBe('string');
  });

  test('an empty optional variable reads as unset', () => {
    const env = { ...replicatorEnvironment(minimalReplicator), [ENV.destinationEndpoint]: '', [ENV.destinationStorageClass]: '' };
    expect(readReplicatorSettings(env).destinationEndpoint).toBeUndefined();
    expect(readReplicatorSettings(env).destinationStorageClass).toBeUndefined();
  });

  test('a missing scope variable is refused, naming it', () => {
    const env: Record<string, string | undefined> = { ...replicatorEnvironment(minimalReplicator) };
    delete env[ENV.scope];
    expect(() => readReplicatorSettings(env)).toThrow(`${ENV.scope} is not set`);
  });

  test('during an update, the old environment\'s REPLICATED_PREFIXES array is read as the scope', () => {
    const env: Record<string, string | undefined> = { ...replicatorEnvironment(minimalReplicator), [ENV.legacyPrefixes]: '["logs/","data/"]' };
    delete env[ENV.scope];
    expect(readReplicatorSettings(env).scope).toEqual({ prefixes: ['logs/', 'data/'] });
    expect(readReplicatorSettings({ ...env, [ENV.legacyPrefixes]: '[]' }).scope).toEqual(EVERY_KEY);
    expect(() => readReplicatorSettings({ ...env, [ENV.legacyPrefixes]: 'logs/' })).toThrow(`${ENV.legacyPrefixes} must be a JSON object`);
  });

  test('the scope variable wins over the old one', () => {
    const env = { ...replicatorEnvironment(fullReplicator), [ENV.legacyPrefixes]: '["other/"]' };
    expect(readReplicatorSettings(env).scope).toEqual(fullReplicator.scope);
  });

  test('an empty environment lists every missing variable at once', () => {
    const error = thrownBy(() => readReplicatorSettings({}));
    expect(error.message).toMatch(/^Invalid handler environment/);
    for (const name of REQUIRED_REPLICATOR_VARIABLES) expect(error.message).toContain(`${name} is not set`);
    // Optional variables are never reported.
    expect(error.message).not.toContain(ENV.destinationEndpoint);
    expect(error.message).not.toContain(ENV.destinationKmsKeyArn);
    expect(error.message).not.toContain(ENV.destinationStorageClass);
  });

  test('two missing variables are both named', () => {
    const env: Record<string, string | undefined> = { ...replicatorEnvironment(fullReplicator) };
    delete env[ENV.tableName];
    env[ENV.destinationRegion] = '';
    const error = thrownBy(() => readReplicatorSettings(env));
    expect(error.message).toContain(`${ENV.tableName} is not set`);
    expect(error.message).toContain(`${ENV.destinationRegion} is not set`);
    expect(error.message).not.toContain(`${ENV.sourceBucket} is not set`);
  });

  test.each(['yes', 'TRUE', '1', 'False', ' true'])('rejects flag value %j', (value) => {
    const env = { ...replicatorEnvironment(minimalReplicator), [ENV.replicateTags]: value };
    expect(() => readReplicatorSettings(env)).toThrow(`${ENV.replicateTags} must be "true" or "false", got "${value}"`);
  });

  test('reports a bad flag together with a missing variable', () => {
    const env: Record<string, string | undefined> = { ...replicatorEnvironment(minimalReplicator), [ENV.replicateVersionDeletes]: 'on' };
    delete env[ENV.sourceBucket];
    const error = thrownBy(() => readReplicatorSettings(env));
    expect(error.message).toContain(`${ENV.sourceBucket} is not set`);
    expect(error.message).toContain(`${ENV.replicateVersionDeletes} must be "true" or "false", got "on"`);
  });

  test.each(['0', '-1', '2.5', 'five'])('rejects max receive count %j', (value) => {
    const env = { ...replicatorEnvironment(minimalReplicator), [ENV.maxReceiveCount]: value };
    expect(() => readReplicatorSettings(env)).toThrow(`${ENV.maxReceiveCount} must be a positive integer, got "${value}"`);
  });

  test.each(['not json', '{"a":"b"}', '"logs/"', '["logs/"]', '{"prefixes":[1, 2]}', '{"prefixes":["logs/", null]}', 'null'])('rejects the scope %j', (value) => {
    const env = { ...replicatorEnvironment(minimalReplicator), [ENV.scope]: value };
    expect(() => readReplicatorSettings(env)).toThrow(new RegExp(`^Invalid handler environment .*${ENV.scope} must be a JSON object whose "prefixes" is an array of strings`));
  });
});

describe('router settings', () => {
  const router: RouterSettings = {
    sourceBucket: 'source-bucket',
    scope: { prefixes: ['logs/', 'a b+c/'] },
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/replication.fifo',
  };

  test('round trip', () => {
    const env = routerEnvironment(router);
    expect(Object.keys(env).sort()).toEqual([ENV.sourceBucket, ENV.scope, ENV.queueUrl].sort());
    expect(readRouterSettings(env)).toStrictEqual(router);
  });

  test('round trip of every key', () => {
    expect(readRouterSettings(routerEnvironment({ ...router, scope: EVERY_KEY }))).toStrictEqual({ ...router, scope: EVERY_KEY });
  });

  test('ignores the replicator-only variables', () => {
    const env = { ...replicatorEnvironment(fullReplicator), ...routerEnvironment(router) };
    expect(readRouterSettings(env)).toStrictEqual(router);
  });

  test('an empty environment lists every missing variable at once', () => {
    const error = thrownBy(() => readRouterSettings({}));
    expect(error.message).toContain(`${ENV.sourceBucket} is not set`);
    expect(error.message).toContain(`${ENV.queueUrl} is not set`);
    expect(error.message).not.toContain(ENV.tableName);
  });

  test('rejects a bad scope', () => {
    const env = { ...routerEnvironment(router), [ENV.scope]: '[logs/]' };
    expect(() => readRouterSettings(env)).toThrow(`${ENV.scope} must be a JSON object`);
  });
});

describe('backfill settings', () => {
  const backfill: BackfillFunctionSettings = {
    sourceBucket: 'source-bucket',
    scope: { prefixes: ['logs/'] },
    tableName: 'ReplicationTable',
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/replication.fifo',
    backfillQueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/backfill',
    backfillMode: 'reconcile',
    reportBucket: 'reports',
    reportPrefix: 'backfill-reports/',
    deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/replication-dlq.fifo',
    routerDeadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/router-dlq',
    credentialsSecretId: minimalReplicator.credentialsSecretId,
    destinationBucket: 'destination-bucket',
    destinationRegion: 'us-gov-west-1',
    destinationPartition: 'aws-us-gov',
    destinationEndpoint: 'https://s3.us-gov-west-1.amazonaws.com',
    destinationStsEndpoint: undefined,
    destinationAccount: '444455556666',
  };

  test('round trip, with the destination a reconcile lists', () => {
    expect(readBackfillSettings(backfillEnvironment(backfill))).toStrictEqual(backfill);
  });

  test('the destination and the queues are required', () => {
    const { [ENV.destinationBucket]: _bucket, [ENV.credentialsSecretId]: _secret, ...env } = backfillEnvironment(backfill);
    const error = thrownBy(() => readBackfillSettings(env));
    expect(error.message).toContain(`${ENV.destinationBucket} is not set`);
    expect(error.message).toContain(`${ENV.credentialsSecretId} is not set`);
    expect(() => readBackfillSettings({})).toThrow(`${ENV.backfillQueueUrl} is not set`);
  });

  test('the redrive mode reads both dead-letter queues', () => {
    const env = backfillEnvironment(backfill);
    expect(env[ENV.deadLetterQueueUrl]).toBe(backfill.deadLetterQueueUrl);
    expect(env[ENV.routerDeadLetterQueueUrl]).toBe(backfill.routerDeadLetterQueueUrl);
    expect(readBackfillSettings(env)).toMatchObject({
      deadLetterQueueUrl: backfill.deadLetterQueueUrl, routerDeadLetterQueueUrl: backfill.routerDeadLetterQueueUrl,
    });
  });

  test('an environment without the dead-letter queues (the old one, during an update) still reads: only a redrive needs them', () => {
    const { deadLetterQueueUrl: _replication, routerDeadLetterQueueUrl: _router, ...withoutQueues } = backfill;
    const env = backfillEnvironment(withoutQueues);
    expect(Object.keys(env)).not.toContain(ENV.routerDeadLetterQueueUrl);
    expect(readBackfillSettings(env)).toMatchObject({ deadLetterQueueUrl: undefined, routerDeadLetterQueueUrl: undefined });
  });
});

test('variable names are distinct', () => {
  const names = Object.values(ENV);
  expect(new Set(names).size).toBe(names.length);
});
