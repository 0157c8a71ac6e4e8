import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvocationTimeout, SandboxPool } from '../../../bench/lambda-sandbox';

// A handler that never settles when asked to hang (an await on a request that never answers), and
// answers otherwise: run in real sandbox child processes, no mock.
const HANDLER = `exports.handler = async (event) => {
  if (event.hang) await new Promise(() => setInterval(() => undefined, 1000));
  return { pid: process.pid, echo: event.value };
};
`;

describe('the Lambda sandbox pool', () => {
  let assetDir: string;
  let pool: SandboxPool | undefined;
  beforeAll(() => {
    assetDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-handler-'));
    fs.writeFileSync(path.join(assetDir, 'index.js'), HANDLER);
  });
  afterEach(async () => {
    await pool?.stop();
    pool = undefined;
  });
  afterAll(() => fs.rmSync(assetDir, { recursive: true, force: true }));

  it('fails an invocation that runs past the time limit, naming it, and runs the next one in a new sandbox', async () => {
    pool = SandboxPool.start({ name: 'hangs', assetDir, environment: {}, timeoutSeconds: 900 }, 1, 2_000);
    const [first] = pool.pids;
    const hung = pool.invoke({ hang: true });
    await expect(hung).rejects.toBeInstanceOf(InvocationTimeout);
    await expect(hung).rejects.toThrow(`invocation timed out after 2 s in the sandbox of process ${first}`);
    const next = await pool.invoke({ value: 42 });
    expect(next.result).toEqual({ pid: expect.any(Number), echo: 42 });
    expect((next.result as { pid: number }).pid).not.toBe(first);
    expect(pool.pids).toEqual([(next.result as { pid: number }).pid]);
  }, 60_000);

  it('stops a sandbox whose invocation never returns', async () => {
    pool = SandboxPool.start({ name: 'hangs', assetDir, environment: {}, timeoutSeconds: 900 }, 1);
    const hung = pool.invoke({ hang: true }).catch((error: Error) => error);
    await new Promise((done) => setTimeout(done, 3_000));
    await pool.stop();
    pool = undefined;
    expect(String(await hung)).toMatch(/sandbox exited with SIGKILL/);
  }, 60_000);
});
