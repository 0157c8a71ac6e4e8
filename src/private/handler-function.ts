import { RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { overrideRuntime } from './function-runtime';

/** One of the generated handler classes (`RouterFunction`, `ReplicatorFunction`, `BackfillFunction`). */
export type HandlerFunctionClass<F extends lambda.Function> = new (scope: Construct, id: string, props: lambda.FunctionOptions) => F;

/** How one handler function of the constructs is made. */
export interface HandlerFunctionOptions extends Omit<lambda.FunctionOptions, 'logGroup' | 'environment'> {
  /** The id of the function's log group, a sibling of the function in `scope`. */
  readonly logGroupId: string;
  /** The log group's removal policy. */
  readonly removalPolicy: RemovalPolicy;
  /** Replaces the pinned Lambda runtime, when given. */
  readonly runtime?: lambda.Runtime;
  /** The handler's typed environment (from `src/runtime/contract/`), added after the generated class's own. */
  readonly handlerEnvironment: Record<string, string>;
}

/**
 * A handler function of the constructs, made the one way they all are: a log group of its own,
 * kept for a year, created just before the function; the pinned runtime unless `runtime`
 * replaces it; and the handler's environment.
 */
export function createHandlerFunction<F extends lambda.Function>(
  HandlerFunction: HandlerFunctionClass<F>,
  scope: Construct,
  id: string,
  options: HandlerFunctionOptions,
): F {
  const { logGroupId, removalPolicy, runtime, handlerEnvironment, ...functionOptions } = options;
  const fn = new HandlerFunction(scope, id, {
    ...functionOptions,
    logGroup: new logs.LogGroup(scope, logGroupId, { retention: logs.RetentionDays.ONE_YEAR, removalPolicy }),
  });
  for (const [name, value] of Object.entries(handlerEnvironment)) fn.addEnvironment(name, value);
  overrideRuntime(fn, runtime);
  return fn;
}
