import { randomUUID } from 'node:crypto';
import {
  AttributeValue, CreateTableCommand, DeleteTableCommand, DynamoDBClient, PutItemCommand, QueryCommand, QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { emulators, sourceClientConfig } from './partitions';

// moto_server.py reads the partition a Query names instead of sorting the whole table for it (which
// made every page O(table)). What the emulator answers must not change: the partition's items in
// sort-key order, both directions, key conditions, paging and counts, on tables with and without a
// sort key. Real servers, no mock.
describe("the emulator's DynamoDB Query", () => {
  const emulated = emulators();
  const dynamodb = new DynamoDBClient(sourceClientConfig(emulated.sourceEndpoint, emulated.sourceAdmin));
  const tables: string[] = [];
  const createTable = async (withSortKey: boolean) => {
    const name = `query-${randomUUID().slice(0, 8)}`;
    await dynamodb.send(new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, ...withSortKey ? [{ AttributeName: 'sk', AttributeType: 'S' as const }] : []],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, ...withSortKey ? [{ AttributeName: 'sk', KeyType: 'RANGE' as const }] : []],
    }));
    tables.push(name);
    return name;
  };
  const sortKeys = (items: Record<string, AttributeValue>[] = []) => items.map((item) => item.sk.S);
  afterAll(async () => {
    await Promise.all(tables.map((name) => dynamodb.send(new DeleteTableCommand({ TableName: name }))));
    dynamodb.destroy();
  });

  it('answers one partition in sort-key order, both ways, with key conditions, pages and counts', async () => {
    const table = await createTable(true);
    // Written out of order, over three partitions.
    for (const sk of ['b#2', 'a#1', 'c#3', 'b#1', 'a#2']) {
      for (const pk of ['p1', 'p2', 'p3']) {
        await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, sk: { S: sk }, n: { N: '1' } } }));
      }
    }
    const query = (input: Partial<QueryCommandInput>) => dynamodb.send(new QueryCommand({
      TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'p2' } }, ...input,
    }));

    expect(sortKeys((await query({})).Items)).toEqual(['a#1', 'a#2', 'b#1', 'b#2', 'c#3']);
    expect(sortKeys((await query({ ScanIndexForward: false })).Items)).toEqual(['c#3', 'b#2', 'b#1', 'a#2', 'a#1']);
    const prefixed = await query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)', ExpressionAttributeValues: { ':pk': { S: 'p2' }, ':prefix': { S: 'b#' } },
    });
    expect(sortKeys(prefixed.Items)).toEqual(['b#1', 'b#2']);
    expect((await query({ Select: 'COUNT' })).Count).toBe(5);

    const first = await query({ Limit: 2 });
    expect(sortKeys(first.Items)).toEqual(['a#1', 'a#2']);
    expect(first.LastEvaluatedKey).toEqual({ pk: { S: 'p2' }, sk: { S: 'a#2' } });
    const second = await query({ Limit: 2, ExclusiveStartKey: first.LastEvaluatedKey });
    expect(sortKeys(second.Items)).toEqual(['b#1', 'b#2']);

    const none = await query({ ExpressionAttributeValues: { ':pk': { S: 'nobody' } } });
    expect(none.Items).toEqual([]);
  });

  it('answers the one item of a partition on a table without a sort key', async () => {
    const table = await createTable(false);
    for (const pk of ['x', 'y']) await dynamodb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, v: { S: `of ${pk}` } } }));
    const found = await dynamodb.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'y' } } }));
    expect(found.Items).toEqual([{ pk: { S: 'y' }, v: { S: 'of y' } }]);
  });
});
