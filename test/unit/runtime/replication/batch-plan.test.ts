import { partsInFlight, MIN_PART_SIZE } from '../../../../src/runtime/engine/multipart/part-plan';
import { batchConcurrency, forEachBounded, groupsOf, MAX_CONCURRENT_GROUPS } from '../../../../src/runtime/replication/batch-plan';
import { copyMemoryBudget } from '../../../../src/runtime/replication/replicator-handler';

const MiB = 1024 * 1024;

describe('groupsOf', () => {
  const record = (id: string, group: string) => ({ id, group });
  const ids = (groups: ReturnType<typeof groupsOf<{ id: string; group: string }>>) =>
    groups.map(({ groupId, records }) => [groupId, records.map((r) => r.id)]);

  test('ten records of ten keys are ten groups of one, in queue order', () => {
    const records = Array.from({ length: 10 }, (_, n) => record(`m${n}`, `k${n}`));
    expect(ids(groupsOf(records, (r) => r.group))).toEqual(records.map((r) => [r.group, [r.id]]));
  });

  test('the records of one key stay in queue order, interleaved with other keys or not', () => {
    const records = [record('1', 'a'), record('2', 'b'), record('3', 'a'), record('4', 'c'), record('5', 'b'), record('6', 'a')];
    expect(ids(groupsOf(records, (r) => r.group))).toEqual([['a', ['1', '3', '6']], ['b', ['2', '5']], ['c', ['4']]]);
  });

  test('records without a group id share one group, so they keep their order', () => {
    expect(ids(groupsOf([record('1', ''), record('2', 'x'), record('3', '')], (r) => r.group))).toEqual([['', ['1', '3']], ['x', ['2']]]);
  });

  test('an empty batch has no groups', () => {
    expect(groupsOf([], () => 'g')).toEqual([]);
  });
});

describe('batchConcurrency', () => {
  test('a full batch of ten keys runs at once from 320 MB of function memory (the default 1,024 MB included)', () => {
    expect(batchConcurrency(copyMemoryBudget(1024))).toEqual({ groups: MAX_CONCURRENT_GROUPS, copyMemoryBudget: Math.floor(512 * MiB / 10) });
    expect(batchConcurrency(copyMemoryBudget(320)).groups).toBe(10);
    expect(batchConcurrency(copyMemoryBudget(10240)).groups).toBe(10);
  });

  test('fewer groups where the budget cannot give ten copies two 8 MiB parts each', () => {
    expect(batchConcurrency(copyMemoryBudget(256)).groups).toBe(8);
    expect(batchConcurrency(copyMemoryBudget(128))).toEqual({ groups: 4, copyMemoryBudget: 16 * MiB });
    expect(batchConcurrency(16 * MiB)).toEqual({ groups: 1, copyMemoryBudget: 16 * MiB });
    // Below two parts (tests give 8 MiB): one copy at a time with the whole budget, as before.
    expect(batchConcurrency(8 * MiB)).toEqual({ groups: 1, copyMemoryBudget: 8 * MiB });
  });

  test.each([128, 200, 256, 320, 512, 1024, 1769, 3008, 10240])('at %i MB the concurrent copies together stay within the budget, each with at least two parts', (memoryMb) => {
    const budget = copyMemoryBudget(memoryMb);
    const { groups, copyMemoryBudget: share } = batchConcurrency(budget);
    expect(groups * share).toBeLessThanOrEqual(budget);
    expect(share).toBeGreaterThanOrEqual(2 * MIN_PART_SIZE);
    expect(groups * partsInFlight(MIN_PART_SIZE, share) * MIN_PART_SIZE).toBeLessThanOrEqual(budget);
    expect(partsInFlight(MIN_PART_SIZE, share)).toBeGreaterThanOrEqual(2);
  });
});

describe('forEachBounded', () => {
  /** Items that finish when the test says so, recording how many ran at once. */
  const controlled = () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const finish = new Map<number, () => void>();
    const run = async (item: number) => {
      started.push(item);
      most = Math.max(most, ++running);
      await new Promise<void>((resolve) => finish.set(item, resolve));
      running--;
    };
    return { run, started, finish, most: () => most };
  };
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  test('at most `limit` run at once, started in order, the next as soon as one finishes', async () => {
    const items = [0, 1, 2, 3, 4];
    const control = controlled();
    const done = forEachBounded(items, 2, control.run);
    await tick();
    expect(control.started).toEqual([0, 1]);
    control.finish.get(1)!();
    await tick();
    expect(control.started).toEqual([0, 1, 2]);
    for (const item of [0, 2, 3, 4]) {
      await tick();
      control.finish.get(item)!();
    }
    await done;
    expect(control.started).toEqual(items);
    expect(control.most()).toBe(2);
  });

  test('every item runs at once when the limit allows', async () => {
    const control = controlled();
    const done = forEachBounded([0, 1, 2], 10, control.run);
    await tick();
    expect(control.started).toEqual([0, 1, 2]);
    [0, 1, 2].forEach((item) => control.finish.get(item)!());
    await done;
    expect(control.most()).toBe(3);
  });

  test('a failing item does not stop the others; the first error is thrown once all have settled', async () => {
    const ran: number[] = [];
    const outcome = forEachBounded([0, 1, 2, 3], 2, async (item) => {
      ran.push(item);
      if (item === 1) throw new Error('one');
      if (item === 3) throw new Error('three');
    });
    await expect(outcome).rejects.toThrow('one');
    expect(ran).toEqual([0, 1, 2, 3]);
  });
});
