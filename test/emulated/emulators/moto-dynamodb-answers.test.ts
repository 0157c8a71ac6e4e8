import { randomUUID } from 'node:crypto';
import {
  AttributeValue, BatchGetItemCommand, CreateTableCommand, DeleteItemCommand, DeleteTableCommand, DynamoDBClient, GetItemCommand,
  PutItemCommand, QueryCommand, ReturnValue, ScanCommand, UpdateItemCommand, UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { emulators, sourceClientConfig } from './partitions';

// moto_server.py writes a DynamoDB item answer of plain strings, numbers and lists as the JSON of
// moto's own result instead of walking botocore's shape value by value; binary values, and any
// other answer, still go through moto's serializer. What the emulator answers must not change:
// every attribute type comes back as it was written, through each operation that returns items.
// Passes with and without the patch. Real servers, no mock.
describe("the emulator's DynamoDB item answers", () => {
  const emulated = emulators();
  const dynamodb = new DynamoDBClient(sourceClientConfig(emulated.sourceEndpoint, emulated.sourceAdmin));
  const TableName = `answers-${randomUUID().slice(0, 8)}`;
  const plain = (sk: string): Record<string, AttributeValue> => ({
    pk: { S: 'p' },
    sk: { S: sk },
    text: { S: 'quote " backslash \\ é 😀\n' },
    number: { N: '-12.5' },
    strings: { SS: ['a', 'b'] },
    numbers: { NS: ['1', '2.5'] },
    list: { L: [{ S: 'x' }, { N: '3' }, { NULL: true }, { BOOL: false }, { M: { nested: { L: [] } } }] },
    map: { M: { a: { N: '1' }, b: { M: {} } } },
    yes: { BOOL: true },
    nothing: { NULL: true },
  });
  const binary = (sk: string): Record<string, AttributeValue> => ({
    ...plain(sk), bytes: { B: Uint8Array.from([0, 1, 254, 255]) }, byteSets: { BS: [Uint8Array.from([7])] },
  });
  beforeAll(async () => {
    await dynamodb.send(new CreateTableCommand({
      TableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
    }));
    for (const item of [plain('1'), plain('2'), binary('3')]) await dynamodb.send(new PutItemCommand({ TableName, Item: item }));
  });
  afterAll(async () => {
    await dynamodb.send(new DeleteTableCommand({ TableName }));
    dynamodb.destroy();
  });
  const key = (sk: string) => ({ pk: { S: 'p' }, sk: { S: sk } });
  const update = (
    sk: string, expression: string, names: Record<string, string>, values: Record<string, AttributeValue>,
    returnValues?: ReturnValue, more: Partial<UpdateItemCommandInput> = {},
  ) => dynamodb.send(new UpdateItemCommand({
    TableName,
    Key: key(sk),
    UpdateExpression: expression,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValues: returnValues,
    ...more,
  }));

  it('returns each attribute type as written through GetItem, Query, Scan and BatchGetItem', async () => {
    expect((await dynamodb.send(new GetItemCommand({ TableName, Key: key('1') }))).Item).toEqual(plain('1'));
    expect((await dynamodb.send(new GetItemCommand({ TableName, Key: key('3') }))).Item).toEqual(binary('3'));
    expect((await dynamodb.send(new GetItemCommand({ TableName, Key: key('9') }))).Item).toBeUndefined();

    const page = await dynamodb.send(new QueryCommand({
      TableName, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'p' } }, Limit: 2,
    }));
    expect([page.Items, page.Count, page.ScannedCount, page.LastEvaluatedKey]).toEqual([[plain('1'), plain('2')], 2, 2, key('2')]);
    const rest = await dynamodb.send(new QueryCommand({
      TableName, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'p' } }, ExclusiveStartKey: page.LastEvaluatedKey,
    }));
    expect(rest.Items).toEqual([binary('3')]);
    const count = await dynamodb.send(new QueryCommand({
      TableName, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'p' } }, Select: 'COUNT',
    }));
    expect([count.Items, count.Count]).toEqual([undefined, 3]);
    const scanned = await dynamodb.send(new ScanCommand({ TableName, FilterExpression: 'sk = :one', ExpressionAttributeValues: { ':one': { S: '1' } } }));
    expect([scanned.Items, scanned.Count, scanned.ScannedCount]).toEqual([[plain('1')], 1, 3]);

    const batch = await dynamodb.send(new BatchGetItemCommand({
      RequestItems: { [TableName]: { Keys: [key('2'), key('9')], ProjectionExpression: 'sk, #n, #y', ExpressionAttributeNames: { '#n': 'number', '#y': 'yes' } } },
    }));
    expect(batch.Responses?.[TableName]).toEqual([{ sk: { S: '2' }, number: { N: '-12.5' }, yes: { BOOL: true } }]);
    expect(batch.UnprocessedKeys).toEqual({});
  });

  it('returns the old or new attributes of a write, and the item of a failed condition', async () => {
    const updated = await update('2', 'ADD #c :one SET #t = :t', { '#c': 'counter', '#t': 'text' }, { ':one': { N: '1' }, ':t': { S: 'new' } }, 'ALL_NEW');
    expect(updated.Attributes).toEqual({ ...plain('2'), text: { S: 'new' }, counter: { N: '1' } });
    const added = await update('2', 'ADD #c :five', { '#c': 'counter' }, { ':five': { N: '5' } }, 'UPDATED_NEW');
    expect(added.Attributes).toEqual({ counter: { N: '6' } });
    await expect(update('1', 'SET #t = :t', { '#t': 'text' }, { ':t': { S: 'x' } }, undefined, {
      ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    })).rejects.toMatchObject({ name: 'ConditionalCheckFailedException', Item: plain('1') });

    const replaced = await dynamodb.send(new PutItemCommand({ TableName, Item: plain('1'), ReturnValues: 'ALL_OLD' }));
    expect(replaced.Attributes).toEqual(plain('1'));
    const deleted = await dynamodb.send(new DeleteItemCommand({ TableName, Key: key('3'), ReturnValues: 'ALL_OLD' }));
    expect(deleted.Attributes).toEqual(binary('3'));
    await dynamodb.send(new PutItemCommand({ TableName, Item: binary('3') }));
  });
});
