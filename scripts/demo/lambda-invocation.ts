import { join } from 'path';
import type { Context } from 'aws-lambda';

/** A function as Lambda runs it: its code directory, its environment and its timeout. */
export interface DeployedFunction {
  readonly name: string;
  readonly assetDir: string;
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number;
  handler?: (event: unknown, context: Context) => Promise<unknown>;
}

/** Runs `work` with exactly `environment` as the process environment, as a function's own sandbox would have it. */
async function withEnvironment<T>(environment: Record<string, string>, work: () => Promise<T> | T): Promise<T> {
  const saved = { ...process.env };
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, { PATH: saved.PATH ?? '', NODE_NO_WARNINGS: '1' }, environment);
  try {
    return await work();
  } finally {
    for (const name of Object.keys(process.env)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

/**
 * Collects what `run` writes to standard output and error (the handlers' JSON logs). Not
 * test/support/capture-output.ts, which spies through jest; and on an error the collected output
 * is written out, so the demo shows what the handler logged before it threw.
 */
async function collectOutput<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const chunks: string[] = [];
  const write = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  };
  const [stdout, stderr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = write as typeof process.stdout.write;
  process.stderr.write = write as typeof process.stderr.write;
  try {
    const result = await run();
    return { result, lines: chunks.join('').split('\n').filter((line) => line.length > 0) };
  } catch (error) {
    stderr.call(process.stderr, chunks.join(''));
    throw error;
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

/** Invokes the bundled handler (loaded on first use, in its environment) and collects what it logs. */
export function invoke(fn: DeployedFunction, event: unknown): Promise<{ result: unknown; lines: string[] }> {
  return collectOutput(() => withEnvironment(fn.environment, async () => {
    // Lambda loads the handler file from the deployed code: here the staged asset directory.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    fn.handler ??= (require(join(fn.assetDir, 'index.js')) as { handler: DeployedFunction['handler'] }).handler;
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const context = {
      functionName: fn.name, memoryLimitInMB: fn.environment.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, getRemainingTimeInMillis: () => deadline - Date.now(),
    } as unknown as Context;
    return fn.handler!(event, context);
  }));
}

/** The JSON log entries among collected lines. */
export function jsonLogs(lines: string[]): Array<Record<string, any>> {
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, any>];
    } catch {
      return [];
    }
  });
}
