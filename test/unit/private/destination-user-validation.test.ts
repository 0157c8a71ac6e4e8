import { CfnParameter, Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { DestinationReplicationUserProps } from '../../../src';
import { build, PropsFor, synth } from '../../support/destination-user-stack';

describe('validation', () => {
  const manyPrefixes = Array.from({ length: 11 }, (_, i) => `p${i}/`);
  const role = (extra: object) => ({ assumeRole: { externalId: 'replication-from-aws', ...extra } });
  test.each<[string, Partial<DestinationReplicationUserProps> | PropsFor, string]>([
    ['empty prefix', { prefixes: [''] }, 'prefixes must not contain an empty string'],
    ['duplicate prefix', { prefixes: ['a/', 'a/'] }, 'prefixes contains "a/" more than once'],
    ['too many prefixes', { prefixes: manyPrefixes }, 'prefixes has 11 entries; at most 10 are supported'],
    ['wildcard in a prefix', { prefixes: ['logs/?/'] },
      'prefixes entry "logs/?/" contains * or ?, which IAM would read as a wildcard and so widen the replication user\'s write access'],
    ['prefix longer than a key', { prefixes: ['k'.repeat(1025)] },
      `prefixes entry "${'k'.repeat(40)}..." is longer than 1024 characters, the longest S3 key`],
    ['empty user name', { userName: '' }, 'userName "" must be 1 to 64 characters long'],
    ['user name too long', { userName: 'u'.repeat(65) }, `userName "${'u'.repeat(65)}" must be 1 to 64 characters long`],
    ['user name with a space', { userName: 'partition replicator' },
      'userName "partition replicator" may contain only letters, digits and the characters + = , . @ _ -'],
    ['path without a leading slash', { path: 'replication/' }, 'path "replication/" must start and end with a slash (/)'],
    ['path without a trailing slash', { path: '/replication' }, 'path "/replication" must start and end with a slash (/)'],
    ['path with a space', { path: '/my path/' }, 'path "/my path/" may contain only printable ASCII characters other than spaces'],
    ['path with nothing between the slashes', { path: '//' }, 'path "//" may contain only printable ASCII characters'],
    ['path too long', { path: `/${'p'.repeat(511)}/` }, 'path is 513 characters long; at most 512 are allowed'],
    ['key given by alias', (stack) => ({ kmsKey: new kms.Alias(stack, 'Alias', { aliasName: 'alias/replicas', targetKey: new kms.Key(stack, 'Key') }) }),
      'kmsKey is an alias; pass the key it points to'],
    ['key imported by alias name', (stack) => ({ kmsKey: kms.Alias.fromAliasName(stack, 'Alias', 'alias/replicas') }), 'kmsKey is an alias'],
    ['key imported by alias ARN', (stack) => ({ kmsKey: kms.Key.fromKeyArn(stack, 'Key', 'arn:aws-us-gov:kms:us-gov-west-1:222222222222:alias/replicas') }),
      'kmsKey has the ARN "arn:aws-us-gov:kms:us-gov-west-1:222222222222:alias/replicas"; it must be a key ARN'],
    ['external id too short', role({ externalId: 'x' }), 'assumeRole.externalId is 1 characters long; it must be 2 to 1224'],
    ['external id too long', role({ externalId: 'x'.repeat(1225) }), 'assumeRole.externalId is 1225 characters long; it must be 2 to 1224'],
    ['external id with a space', role({ externalId: 'from aws' }),
      'assumeRole.externalId may contain only letters, digits and the characters + = , . @ : / _ -'],
    ['role name with a slash', role({ roleName: 'team/replication' }), 'assumeRole.roleName "team/replication" may contain only letters'],
    ['role name too long', role({ roleName: 'r'.repeat(65) }), `assumeRole.roleName "${'r'.repeat(65)}" must be 1 to 64 characters long`],
    ['session shorter than an hour', role({ maxSessionDuration: Duration.minutes(30) }),
      'assumeRole.maxSessionDuration is 30 minutes; it must be a whole number of seconds between 1 hour and 12 hours'],
    ['session longer than 12 hours', role({ maxSessionDuration: Duration.hours(13) }), 'assumeRole.maxSessionDuration is 13 hours'],
    ['session not whole seconds', role({ maxSessionDuration: Duration.millis(3_600_500) }), 'assumeRole.maxSessionDuration is 1 hour 500 millis'],
  ])('%s', (_name, props, message) => {
    expect(() => build(props)).toThrow(`DestinationReplicationUser: ${message}`);
  });

  test('tokens are accepted where validation cannot see the value', () => {
    const { template } = synth((stack) => {
      const parameter = (id: string) => new CfnParameter(stack, id).valueAsString;
      return {
        prefixes: [parameter('Prefix')],
        userName: parameter('UserName'),
        path: parameter('Path'),
        assumeRole: { externalId: parameter('ExternalId'), roleName: parameter('RoleName') },
        createAccessKey: true,
      };
    });
    template.hasResourceProperties('AWS::IAM::User', { UserName: { Ref: 'UserName' }, Path: { Ref: 'Path' } });
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: { Ref: 'RoleName' },
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } } })] },
    });
  });
});
