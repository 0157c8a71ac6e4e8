import { CfnParameter, Stack } from 'aws-cdk-lib';
import { PartitionReplicatedBucket, PartitionReplicatedBucketProps } from '../../src';
import { ENV } from '../../src/runtime/contract/replication-environment';
import { parseScope } from '../../src/runtime/contract/replication-scope';
import { nagFindings } from '../support/nag-findings';
import { REQUIRED, build, synth } from '../support/replicated-bucket-stack';
import { functionEnvironment } from '../support/template-queries';

describe('tagFilter: validation', () => {
  const pairs = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, 'v']));
  test.each<[string, Partial<PartitionReplicatedBucketProps>, string]>([
    ['more than 10 pairs', { tagFilter: pairs(11) },
      'tagFilter has 11 pairs; at most 10 are supported (S3 allows 10 tags on an object, so more could never match)'],
    ['an empty key', { tagFilter: { '': 'v' } }, 'tagFilter must not have an empty key (S3 tag keys are 1 to 128 characters)'],
    ['a key of 129 characters', { tagFilter: { ['k'.repeat(129)]: 'v' } }, `tagFilter key "${'k'.repeat(40)}..." is longer than 128 characters, the longest S3 tag key`],
    ['a value of 257 characters', { tagFilter: { team: 'v'.repeat(257) } }, 'tagFilter value of "team" is longer than 256 characters, the longest S3 tag value'],
    ['a key S3 reserves', { tagFilter: { 'aws:team': 'a' } }, 'tagFilter key "aws:team" starts with "aws:", which S3 reserves: no object can carry it, so nothing would be replicated'],
    ['a value that is not a string (from an untyped language)', { tagFilter: { team: 1 as unknown as string } }, 'tagFilter value of "team" must be a string'],
    ['delete markers asked for explicitly', { tagFilter: { replicate: 'yes' }, replicateDeleteMarkers: true },
      'replicateDeleteMarkers cannot be true with tagFilter: a delete marker has no tags, so it never matches the filter ' +
      '(S3 Replication refuses delete marker replication in a tag-based rule too); leave replicateDeleteMarkers out or set it to false'],
  ])('%s is refused', (_name, props, message) => {
    expect(() => build(props)).toThrow(`PartitionReplicatedBucket: ${message}`);
  });

  test('S3\'s limits themselves pass: 10 pairs, a 128-character key, a 256-character value (counted in characters), an empty value', () => {
    expect(() => build({ tagFilter: pairs(10) })).not.toThrow();
    expect(() => build({ tagFilter: { ['ü'.repeat(128)]: '€'.repeat(256), reviewed: '' } })).not.toThrow();
  });

  test('tokens are not checked at synth time', () => {
    const stack = new Stack();
    const value = new CfnParameter(stack, 'Value').valueAsString;
    expect(() => new PartitionReplicatedBucket(stack, 'R', { ...REQUIRED, tagFilter: { team: value } })).not.toThrow();
  });
});

describe('tagFilter: what the template carries', () => {
  test('every handler\'s REPLICATION_SCOPE carries the filter with the prefixes', () => {
    const { template, stack, construct } = synth({ prefixes: ['a/'], tagFilter: { replicate: 'yes', team: 'blue' } });
    for (const fn of [construct.router, construct.replicator, construct.backfill]) {
      const scope = functionEnvironment(template, stack, fn)[ENV.scope];
      expect(scope).toBe('{"prefixes":["a/"],"tagFilter":{"replicate":"yes","team":"blue"}}');
      expect(parseScope(scope as string)).toEqual({ prefixes: ['a/'], tagFilter: { replicate: 'yes', team: 'blue' } });
    }
  });

  test('no filter, or an empty one, leaves the scope as earlier releases wrote it', () => {
    for (const props of [{}, { tagFilter: {} }]) {
      const { template, stack, construct } = synth(props);
      expect(functionEnvironment(template, stack, construct.replicator)[ENV.scope]).toBe('{"prefixes":[]}');
    }
  });

  test('with a filter, delete markers are not replicated unless asked otherwise (as S3 Replication\'s tag-based rules)', () => {
    const markers = (props: Partial<PartitionReplicatedBucketProps>) => {
      const { template, stack, construct } = synth(props);
      return functionEnvironment(template, stack, construct.replicator)[ENV.replicateDeleteMarkers];
    };
    expect(markers({ tagFilter: { replicate: 'yes' } })).toBe('false');
    expect(markers({ tagFilter: { replicate: 'yes' }, replicateDeleteMarkers: false })).toBe('false');
    expect(markers({})).toBe('true');
    expect(markers({ tagFilter: {} })).toBe('true');
  });

  test('the replicator may read the version\'s tags (to test the filter) also when tags are not replicated', () => {
    const { template, stack, construct } = synth({ tagFilter: { replicate: 'yes' }, replicateTags: false });
    const roleId = stack.getLogicalId(construct.replicator.role!.node.defaultChild as any);
    const policies = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy: any) => JSON.stringify(policy.Properties.Roles).includes(roleId));
    const actions = policies.flatMap((policy: any) => policy.Properties.PolicyDocument.Statement.flatMap((s: any) => [s.Action].flat()));
    expect(actions).toEqual(expect.arrayContaining(['s3:GetObject*']));
  });

  test('with a filter (only then), the backfill function may read the tags of source versions under the prefixes, for its status mode', () => {
    const tagActions = (props: Partial<PartitionReplicatedBucketProps>) => {
      const { template, stack, construct } = synth(props);
      const roleId = stack.getLogicalId(construct.backfill.role!.node.defaultChild as any);
      return Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((policy: any) => JSON.stringify(policy.Properties.Roles).includes(roleId))
        .flatMap((policy: any) => policy.Properties.PolicyDocument.Statement)
        .filter((statement: any) => JSON.stringify(statement.Action).includes('GetObject'));
    };
    const [statement] = tagActions({ prefixes: ['a/'], tagFilter: { replicate: 'yes' } });
    expect(statement.Action).toBe('s3:GetObjectVersionTagging');
    expect(JSON.stringify(statement.Resource)).toContain('/a/*');
    expect(tagActions({ prefixes: ['a/'], tagFilter: { replicate: 'yes' } })).toHaveLength(1);
    expect(tagActions({ prefixes: ['a/'] })).toHaveLength(0);
  });
});

describe('tagFilter: cdk-nag', () => {
  test.each([[undefined], [['a/', 'b/']]])('AwsSolutions has no findings with a tag filter (prefixes %j)', (prefixes) => {
    expect(nagFindings(build({ prefixes, tagFilter: { replicate: 'yes' } }).stack)).toEqual([]);
  });
});
