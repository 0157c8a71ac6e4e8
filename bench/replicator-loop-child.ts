// One replicator sandbox of several running at once (see replicatorLoops in replicator-end-to-end.ts):
// a process of its own, as each Lambda sandbox is, that loads the bundled handler with the function's
// environment, warms up, then invokes it on the events the parent hands out one at a time, back to
// back, as the Lambda SQS poller gives a sandbox its next batch when the last one is done.
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DeployedFunction, invoke } from '../scripts/demo/lambda-invocation';

export type LoopRequest =
  | { readonly type: 'start'; readonly fn: DeployedFunction; readonly warmUp: SQSEvent }
  | { readonly type: 'event'; readonly event: SQSEvent }
  | { readonly type: 'stop' };

export type LoopReply =
  | { readonly type: 'ready' }
  | { readonly type: 'next' }
  | { readonly type: 'done'; readonly invocations: number }
  | { readonly type: 'failed'; readonly error: string };

/** One invocation (through the demo's Lambda stand-in, which collects its logs); any failed record fails the run. */
export async function invokeReplicator(replicator: DeployedFunction, event: SQSEvent): Promise<void> {
  const { result, lines } = await invoke(replicator, event);
  const failures = (result as SQSBatchResponse).batchItemFailures;
  if (failures.length > 0) {
    throw new Error(`replicator reported failures: ${JSON.stringify(failures)}; its log:\n${lines.filter((line) => line.includes('"ERROR"')).join('\n')}`);
  }
}

/** The child's side of the protocol: runs until told to stop, or reports the first failure and exits. */
export function runReplicatorLoopChild(): void {
  let fn: DeployedFunction | undefined;
  let invocations = 0;
  const send = (reply: LoopReply, then: () => void = () => undefined) => process.send!(reply, then);
  const fail = (error: unknown) => send(
    { type: 'failed', error: error instanceof Error ? error.stack ?? error.message : String(error) },
    () => process.exit(1),
  );
  process.on('message', (request: LoopRequest) => {
    if (request.type === 'start') {
      fn = request.fn;
      invokeReplicator(fn, request.warmUp).then(() => send({ type: 'ready' }), fail);
    } else if (request.type === 'event') {
      invokeReplicator(fn!, request.event).then(() => { invocations++; send({ type: 'next' }); }, fail);
    } else {
      send({ type: 'done', invocations }, () => process.exit(0));
    }
  });
}
