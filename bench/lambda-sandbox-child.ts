// The child of a Lambda sandbox (lambda-sandbox.ts): loads the function sent first, then runs each
// event it is sent through the demo's Lambda stand-in, one at a time, and answers with the result
// and the handler's log lines.
import type { SandboxRequest, SandboxResponse } from './lambda-sandbox';
import { DeployedFunction, invoke } from '../scripts/demo/lambda-invocation';

let fn: DeployedFunction | undefined;
let running: Promise<unknown> = Promise.resolve();

process.on('message', (request: SandboxRequest) => {
  if ('fn' in request) {
    fn = { ...request.fn };
    return;
  }
  running = running.then(async () => {
    let response: SandboxResponse;
    try {
      const { result, lines } = await invoke(fn!, request.event);
      response = { id: request.id, result, lines };
    } catch (error) {
      response = { id: request.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
    }
    process.send!(response);
  });
});
process.on('disconnect', () => {
  void running.then(() => process.exit(0));
});
