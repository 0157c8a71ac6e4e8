import * as lambda from 'aws-cdk-lib/aws-lambda';
import { synth } from '../../support/replicated-bucket-stack';

describe('functions', () => {
  test('the router, the replicator and the backfill run on Node.js 22', () => {
    const { template } = synth();
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Runtime: 'nodejs22.x' }, 3);
  });

  test('runtime moves the router, the replicator and the backfill to a newer Node.js runtime', () => {
    const { template } = synth({ runtime: new lambda.Runtime('nodejs24.x', lambda.RuntimeFamily.NODEJS) });
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Runtime: 'nodejs24.x' }, 3);
    template.resourcePropertiesCountIs('AWS::Lambda::Function', { Runtime: 'nodejs22.x' }, 0);
  });
});
