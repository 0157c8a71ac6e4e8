import * as lambda from 'aws-cdk-lib/aws-lambda';

/** The Node.js major version the handler bundles are built for (esbuild `--target=node22`). */
export const BUNDLED_NODE_MAJOR = 22;

/**
 * Why `runtime` cannot run the bundled handlers, or undefined when it can: they are Node.js
 * bundles built for Node.js 22, so only a Node.js runtime of that line or newer runs them.
 */
export function runtimeProblem(runtime: lambda.Runtime): string | undefined {
  const major = /^nodejs(\d+)\.x$/.exec(runtime.name)?.[1];
  if (runtime.family !== lambda.RuntimeFamily.NODEJS || major === undefined) {
    return `"${runtime.name}" is not a Node.js runtime; the handlers are Node.js bundles (for example lambda.Runtime.NODEJS_22_X)`;
  }
  if (Number(major) < BUNDLED_NODE_MAJOR) {
    return `"${runtime.name}" is older than the Node.js ${BUNDLED_NODE_MAJOR} the handlers are built for: use nodejs${BUNDLED_NODE_MAJOR}.x or newer`;
  }
  return undefined;
}

/**
 * Runs `fn` on `runtime` instead of the pinned one its generated class sets (projen's generated
 * function classes fix the runtime after the caller's options, so the template property is the
 * one place to change it). No-op when `runtime` is undefined, so default templates do not move.
 */
export function overrideRuntime(fn: lambda.Function, runtime: lambda.Runtime | undefined): void {
  if (runtime === undefined) return;
  (fn.node.defaultChild as lambda.CfnFunction).runtime = runtime.name;
}
