import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';

/** What every queue of the constructs has: SQS-managed encryption, TLS only, the longest retention. */
export const queueDefaults: Pick<sqs.QueueProps, 'encryption' | 'enforceSSL' | 'retentionPeriod'> = {
  encryption: sqs.QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
  retentionPeriod: Duration.days(14),
};
