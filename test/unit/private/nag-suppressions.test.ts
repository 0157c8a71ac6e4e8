import { Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { addNagSuppressions } from '../../../src/private/nag-suppressions';

describe('cdk-nag', () => {
  test('the metadata helper keeps suppressions added with cdk-nag', () => {
    const stack = new Stack();
    const bucket = new s3.Bucket(stack, 'Bucket');
    NagSuppressions.addResourceSuppressions(bucket, [{ id: 'AwsSolutions-S1', reason: 'Added through cdk-nag itself' }]);
    addNagSuppressions(bucket, [{ id: 'AwsSolutions-S10', reason: 'Added through the helper', appliesTo: ['finding'] }]);
    const cfnBucket = bucket.node.defaultChild as s3.CfnBucket;
    expect(cfnBucket.getMetadata('cdk_nag')).toEqual({
      rules_to_suppress: [
        { id: 'AwsSolutions-S1', reason: 'Added through cdk-nag itself' },
        { id: 'AwsSolutions-S10', reason: 'Added through the helper', applies_to: ['finding'] },
      ],
    });
  });
});
