import { SQSClient } from '@aws-sdk/client-sqs';
import { readRouterSettings } from '../runtime/contract/replication-environment';
import { createTelemetry } from '../runtime/contract/telemetry';
import { createRouterHandler } from '../runtime/replication/router-handler';

export const handler = createRouterHandler(readRouterSettings(process.env), new SQSClient({}), createTelemetry('router'));
