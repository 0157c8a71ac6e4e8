import { SQSClient } from '@aws-sdk/client-sqs';
import { readRouterSettings } from './runtime/replication-environment';
import { createRouterHandler } from './runtime/router-handler';
import { createTelemetry } from './runtime/telemetry';

export const handler = createRouterHandler(readRouterSettings(process.env), new SQSClient({}), createTelemetry('router'));
