import { compareSequencers, MAX_SEQUENCER_DIGITS, normalizeSequencer } from '../../../../src/runtime/contract/sequencer';
import { prng } from '../../../support/seeded-random';

function randomHex(random: () => number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    const digit = Math.floor(random() * 16).toString(16);
    out += random() < 0.5 ? digit : digit.toUpperCase();
  }
  return out;
}

describe('normalizeSequencer', () => {
  test('upper-cases hex', () => {
    expect(normalizeSequencer('617f08299329d189')).toBe('617F08299329D189');
  });

  test('keeps an already upper-case value unchanged', () => {
    expect(normalizeSequencer('0055AED6DCD90281E5')).toBe('0055AED6DCD90281E5');
  });

  test('trims surrounding whitespace', () => {
    expect(normalizeSequencer('  00ab\t\n')).toBe('00AB');
  });

  test.each([
    ['not hex', 'xyz'],
    ['empty', ''],
    ['whitespace only', '   '],
    ['0x prefix', '0x1F'],
    ['inner space', 'AB CD'],
    ['negative', '-1F'],
  ])('rejects %s with a message naming the value', (_label, value) => {
    expect(() => normalizeSequencer(value)).toThrow(`sequencer "${value}" is not a hexadecimal string`);
  });

  test('accepts the longest S3 sequencer the bound allows (64 digits), far above the documented 16 and 18', () => {
    expect(MAX_SEQUENCER_DIGITS).toBe(64);
    expect(normalizeSequencer('ab'.repeat(32))).toBe('AB'.repeat(32));
  });

  test.each([
    ['one digit too many', 'A'.repeat(65), 65],
    ['a megabyte of hex', 'f'.repeat(1024 * 1024), 1024 * 1024],
    ['a long value that is not hex either', 'z'.repeat(100), 100],
  ])('rejects %s by its length, quoting only its start', (_label, value, length) => {
    let message = '';
    try {
      normalizeSequencer(value);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(`sequencer "${value.slice(0, 20)}..." is ${length} characters long; S3's are hexadecimal strings of at most 64 digits`);
  });

  test('counts the length after trimming, so surrounding whitespace does not make a valid value too long', () => {
    expect(normalizeSequencer(` ${'1'.repeat(64)}\n`)).toBe('1'.repeat(64));
  });
});

describe('compareSequencers', () => {
  test('equal values compare as zero', () => {
    expect(compareSequencers('617F08299329D189', '617F08299329D189')).toBe(0);
  });

  test('orders values of the same length', () => {
    expect(compareSequencers('617F08299329D188', '617F08299329D189')).toBeLessThan(0);
    expect(compareSequencers('617F08299329D189', '617F08299329D188')).toBeGreaterThan(0);
    expect(compareSequencers('0A', '10')).toBeLessThan(0);
    expect(compareSequencers('F0', '0F')).toBeGreaterThan(0);
  });

  test('is case-insensitive', () => {
    expect(compareSequencers('617f08299329d189', '617F08299329D189')).toBe(0);
    expect(compareSequencers('abcdef', 'ABCDEF')).toBe(0);
    expect(compareSequencers('0a', '0B')).toBeLessThan(0);
  });

  test('ignores surrounding whitespace', () => {
    expect(compareSequencers(' 1F ', '1f')).toBe(0);
  });

  describe('different lengths: the shorter is right-padded with zeros', () => {
    test('"ABC" equals "ABC0" and "ABC000"', () => {
      expect(compareSequencers('ABC', 'ABC0')).toBe(0);
      expect(compareSequencers('ABC0', 'ABC')).toBe(0);
      expect(compareSequencers('abc', 'ABC000')).toBe(0);
    });

    test('"1" is after "0F" (compared as "10" vs "0F", not numerically)', () => {
      expect(compareSequencers('1', '0F')).toBeGreaterThan(0);
      expect(compareSequencers('0F', '1')).toBeLessThan(0);
    });

    test('a longer value with a non-zero tail is after its prefix', () => {
      expect(compareSequencers('ABC', 'ABC1')).toBeLessThan(0);
      expect(compareSequencers('ABC1', 'ABC')).toBeGreaterThan(0);
    });

    test('a shorter value can be after a longer one', () => {
      expect(compareSequencers('B', 'A123456789ABCDEF00')).toBeGreaterThan(0);
    });
  });

  describe('values longer than 16 hex digits (beyond 64 bits)', () => {
    test('differing only in the last of 20 digits', () => {
      const a = 'FFFFFFFFFFFFFFFFFFF0';
      const b = 'FFFFFFFFFFFFFFFFFFF1';
      // A 64-bit (or double) parse would see these as the same number.
      expect(Number.parseInt(a, 16)).toBe(Number.parseInt(b, 16));
      expect(compareSequencers(a, b)).toBeLessThan(0);
      expect(compareSequencers(b, a)).toBeGreaterThan(0);
    });

    test('differing only in the last of 32 digits', () => {
      const a = '0055AED6DCD90281E5DEADBEEF000001';
      const b = '0055AED6DCD90281E5DEADBEEF000002';
      expect(compareSequencers(a, b)).toBeLessThan(0);
      expect(compareSequencers(b, a.toLowerCase())).toBeGreaterThan(0);
      expect(compareSequencers(a, a.toLowerCase())).toBe(0);
    });

    test('a 16-digit value that wraps past 2^64 when incremented in the high digits', () => {
      expect(compareSequencers('FFFFFFFFFFFFFFFF', '10000000000000000')).toBeGreaterThan(0);
      // right-padded: "FFFF...F0" vs "1000...00": F > 1 at the first digit
    });
  });

  test('throws for a non-hex operand on either side', () => {
    expect(() => compareSequencers('zz', '00')).toThrow(/not a hexadecimal string/);
    expect(() => compareSequencers('00', 'zz')).toThrow(/not a hexadecimal string/);
  });

  test('antisymmetry, reflexivity and agreement with padded string order over random pairs', () => {
    const random = prng(20240611);
    for (let i = 0; i < 2000; i++) {
      const a = randomHex(random, 1 + Math.floor(random() * 24));
      // Often share a prefix, or differ only by trailing zeros, so the interesting cases occur.
      const shape = random();
      let b: string;
      if (shape < 0.2) {
        b = a + '0'.repeat(1 + Math.floor(random() * 4));
      } else if (shape < 0.6) {
        b = a.slice(0, Math.floor(random() * (a.length + 1))) + randomHex(random, 1 + Math.floor(random() * 4));
      } else {
        b = randomHex(random, 1 + Math.floor(random() * 24));
      }
      const ab = compareSequencers(a, b);
      const ba = compareSequencers(b, a);
      expect(Math.sign(ab) + Math.sign(ba)).toBe(0);
      expect(compareSequencers(a, a)).toBe(0);
      const width = Math.max(a.length, b.length);
      const left = a.toUpperCase().padEnd(width, '0');
      const right = b.toUpperCase().padEnd(width, '0');
      // BigInt comparison of the padded values: exact, whatever the length.
      const expected = BigInt(`0x${left}`) < BigInt(`0x${right}`) ? -1 : BigInt(`0x${left}`) > BigInt(`0x${right}`) ? 1 : 0;
      expect(Math.sign(ab)).toBe(expected);
    }
  });

  test('transitivity over random triples', () => {
    const random = prng(7);
    for (let i = 0; i < 500; i++) {
      const [a, b, c] = [0, 1, 2].map(() => randomHex(random, 1 + Math.floor(random() * 20)));
      if (compareSequencers(a, b) <= 0 && compareSequencers(b, c) <= 0) {
        expect(compareSequencers(a, c)).toBeLessThanOrEqual(0);
      }
    }
  });
});
