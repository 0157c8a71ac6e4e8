import { Agent, IncomingHttpHeaders, request } from 'node:http';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { emulators, sourceClientConfig } from './partitions';

// moto_server.py keeps a connection open after a response (werkzeug closed every one, after
// waiting up to 10 ms for more of the request body), as AWS endpoints do: it reads each request's
// body whole before moto sees it, so the connection is at the next request when the response goes
// out. This checks that requests of every body framing follow one another on one connection and are
// each answered, and that a client's "Connection: close" still closes. Real servers, no mock.
describe("the emulator's connections", () => {
  const emulated = emulators();
  const CONFIG = '/moto-api/config';
  const agents: Agent[] = [];
  const keepAliveAgent = () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    return agent;
  };
  afterAll(() => agents.forEach((agent) => agent.destroy()));

  interface Answer {
    readonly status: number;
    readonly headers: IncomingHttpHeaders;
    readonly body: string;
    readonly reusedSocket: boolean;
  }
  /** One raw request on `agent`: its body in `chunks`, sent chunked when `chunked`, else with its length. */
  const send = (agent: Agent, method: string, path: string, chunks: string[] = [], options: { chunked?: boolean; close?: boolean } = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const body = chunks.join('');
      const headers: Record<string, string> = options.close ? { Connection: 'close' } : {};
      // node frames a GET's body only when told how.
      if (options.chunked) headers['Transfer-Encoding'] = 'chunked';
      else if (body) headers['Content-Length'] = String(Buffer.byteLength(body));
      const sent = request(`${emulated.sourceEndpoint}${path}`, { method, agent, headers }, (response) => {
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('end', () => resolve({
          status: response.statusCode!, headers: response.headers, body: Buffer.concat(parts).toString(), reusedSocket: sent.reusedSocket,
        }));
      });
      sent.on('error', reject);
      for (const chunk of chunks) sent.write(chunk);
      sent.end();
    });

  it('answers requests with no body, a chunked body and a sized body one after another on one connection', async () => {
    const agent = keepAliveAgent();
    // moto's own configuration endpoint answers unsigned requests; a GET ignores a body it is sent,
    // so the server must still read past it; the POST reads its body (an empty change).
    const first = await send(agent, 'GET', CONFIG);
    const chunked = await send(agent, 'GET', CONFIG, ['x'.repeat(40_000), 'y'.repeat(70_000), 'z'], { chunked: true });
    const sized = await send(agent, 'GET', CONFIG, ['a'.repeat(50_000)]);
    const read = await send(agent, 'POST', CONFIG, ['{}']);
    const last = await send(agent, 'GET', CONFIG);

    const answers = [first, chunked, sized, read, last];
    expect(answers.map((answer) => [answer.status, answer.headers.connection, answer.body])).toEqual(answers.map(() => [201, undefined, first.body]));
    expect(JSON.parse(first.body)).toHaveProperty('batch');
    expect(answers.map((answer) => answer.reusedSocket)).toEqual([false, true, true, true, true]);
  });

  it('closes the connection when the client asks', async () => {
    const agent = keepAliveAgent();
    await send(agent, 'GET', CONFIG);
    const closing = await send(agent, 'GET', CONFIG, [], { close: true });
    const after = await send(agent, 'GET', CONFIG);
    expect([closing.reusedSocket, closing.headers.connection, after.reusedSocket]).toEqual([true, 'close', false]);
  });

  it('serves the SDK\'s signed requests over one connection', async () => {
    let connections = 0;
    const agent = keepAliveAgent();
    const createConnection = (agent as unknown as { createConnection: (...args: unknown[]) => unknown }).createConnection.bind(agent);
    (agent as unknown as { createConnection: (...args: unknown[]) => unknown }).createConnection = (...args: unknown[]) => {
      connections += 1;
      return createConnection(...args);
    };
    const dynamodb = new DynamoDBClient({
      ...sourceClientConfig(emulated.sourceEndpoint, emulated.sourceAdmin), requestHandler: new NodeHttpHandler({ httpAgent: agent }),
    });
    const TableName = `keep-alive-${Date.now()}`;
    await dynamodb.send(new CreateTableCommand({
      TableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    }));
    for (let i = 0; i < 5; i++) await dynamodb.send(new PutItemCommand({ TableName, Item: { pk: { S: `k${i}` }, value: { S: 'v'.repeat(i * 10_000) } } }));
    const items = await Promise.all([0, 4].map(async (i) => (await dynamodb.send(new GetItemCommand({ TableName, Key: { pk: { S: `k${i}` } } }))).Item));
    await dynamodb.send(new DeleteTableCommand({ TableName }));
    dynamodb.destroy();

    expect(items.map((item) => item?.value?.S?.length)).toEqual([0, 40_000]);
    expect(connections).toBe(1);
  });
});
