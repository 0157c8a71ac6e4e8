import { canStartPart, isSinglePartCopy, MAX_PARTS_IN_FLIGHT, MIN_PART_SIZE, partCount, partRange, partsInFlight, partSizeFor } from '../../../../../src/runtime/engine/multipart/part-plan';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const MAX_OBJECT_SIZE = 5 * TiB;

describe('partSizeFor', () => {
  const sizes = [
    0,
    1,
    MIN_PART_SIZE - 1,
    MIN_PART_SIZE,
    MIN_PART_SIZE + 1,
    10_000 * MIN_PART_SIZE - 1,
    10_000 * MIN_PART_SIZE,
    10_000 * MIN_PART_SIZE + 1,
    100 * GiB,
    TiB,
    TiB + 1,
    MAX_OBJECT_SIZE - 1,
    MAX_OBJECT_SIZE,
  ];

  test('MIN_PART_SIZE is 8 MiB', () => {
    expect(MIN_PART_SIZE).toBe(8 * MiB);
  });

  test.each(sizes)('size %d: >= 8 MiB, a whole number of MiB, at most 10,000 parts', (size) => {
    const part = partSizeFor(size);
    expect(part).toBeGreaterThanOrEqual(8 * MiB);
    expect(part % MiB).toBe(0);
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
    // S3's largest part is 5 GiB.
    expect(part).toBeLessThanOrEqual(5 * GiB);
  });

  test('small objects use the minimum part size', () => {
    expect(partSizeFor(0)).toBe(8 * MiB);
    expect(partSizeFor(5 * MiB)).toBe(8 * MiB);
    expect(partSizeFor(10_000 * 8 * MiB)).toBe(8 * MiB);
  });

  test('just above 10,000 minimum parts, the part grows by one MiB', () => {
    expect(partSizeFor(10_000 * 8 * MiB + 1)).toBe(9 * MiB);
  });

  test('5 TiB uses the smallest whole-MiB part that fits in 10,000 parts', () => {
    const part = partSizeFor(MAX_OBJECT_SIZE);
    expect(part).toBe(525 * MiB);
    expect(Math.ceil(MAX_OBJECT_SIZE / (part - MiB))).toBeGreaterThan(10_000);
  });

  test('never more than 10,000 parts for random sizes up to 5 TiB, and non-decreasing in size', () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const sample = Array.from({ length: 1000 }, () => Math.floor(random() * MAX_OBJECT_SIZE)).sort((a, b) => a - b);
    let previous = 0;
    for (const size of sample) {
      const part = partSizeFor(size);
      expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
      expect(part % MiB).toBe(0);
      expect(part).toBeGreaterThanOrEqual(previous);
      previous = part;
    }
  });
});

describe('partRange and partCount', () => {
  test('parts tile the object exactly, the last one shorter', () => {
    const size = 3 * MIN_PART_SIZE + 5;
    const count = partCount(size, MIN_PART_SIZE);
    expect(count).toBe(4);
    const ranges = Array.from({ length: count }, (_, index) => partRange(size, MIN_PART_SIZE, index + 1));
    expect(ranges.map((range) => range.length)).toEqual([MIN_PART_SIZE, MIN_PART_SIZE, MIN_PART_SIZE, 5]);
    for (let index = 1; index < count; index++) expect(ranges[index].start).toBe(ranges[index - 1].end + 1);
    expect(ranges[0].start).toBe(0);
    expect(ranges[count - 1].end).toBe(size - 1);
  });

  test('an object of exactly n parts has no empty last part', () => {
    expect(partCount(2 * MIN_PART_SIZE, MIN_PART_SIZE)).toBe(2);
    expect(partRange(2 * MIN_PART_SIZE, MIN_PART_SIZE, 2).length).toBe(MIN_PART_SIZE);
  });

  test.each([0, 3])('part %d of a 2-part object is refused', (partNumber) => {
    expect(() => partRange(2 * MIN_PART_SIZE, MIN_PART_SIZE, partNumber)).toThrow(RangeError);
  });
});

describe('isSinglePartCopy', () => {
  test('up to one minimum part is one GET and one PUT', () => {
    expect(isSinglePartCopy(0)).toBe(true);
    expect(isSinglePartCopy(MIN_PART_SIZE)).toBe(true);
    expect(isSinglePartCopy(MIN_PART_SIZE + 1)).toBe(false);
  });
});

describe('partsInFlight', () => {
  test('the memory budget divided by the part size, at most the maximum, at least one', () => {
    expect(partsInFlight(8 * MiB, 512 * MiB)).toBe(MAX_PARTS_IN_FLIGHT);
    expect(partsInFlight(8 * MiB, 24 * MiB)).toBe(3);
    expect(partsInFlight(525 * MiB, 512 * MiB)).toBe(1);
  });

  test('buffers in flight never exceed the budget when one part fits', () => {
    for (const partSize of [8 * MiB, 64 * MiB, 525 * MiB]) {
      for (const budget of [16 * MiB, 512 * MiB, 5 * GiB]) {
        if (partSize <= budget) expect(partsInFlight(partSize, budget) * partSize).toBeLessThanOrEqual(budget);
      }
    }
  });
});

describe('canStartPart', () => {
  const base = { now: 0, deadline: 60_000, reserveMs: 10_000 };

  test('before any part finished, a part starts whenever the reserve is still ahead', () => {
    expect(canStartPart({ ...base, deadline: 10_001 })).toBe(true);
    expect(canStartPart({ ...base, deadline: 10_000 })).toBe(false);
  });

  test('keeps twice the slowest part and the reserve before the deadline', () => {
    expect(canStartPart({ ...base, slowestPartMs: 24_999 })).toBe(true);
    expect(canStartPart({ ...base, slowestPartMs: 25_000 })).toBe(false);
  });

  test('never starts past the reserve', () => {
    expect(canStartPart({ ...base, now: 50_001, slowestPartMs: 0 })).toBe(false);
  });
});
