/**
 * S3's `sequencer` orders the events of one object key: a greater value happened later.
 *
 * AWS's current event documentation says to right-pad the shorter value with zeros and compare the
 * strings (earlier revisions said left-pad; the current text and the AWS Lambda event libraries
 * follow right-pad). Values are hex of varying length and case, and can be longer than 16 digits,
 * so they are compared as strings, never parsed into a 64-bit integer (which overflows).
 */

const HEX = /^[0-9A-F]+$/;

/** Upper-cases a sequencer and checks that it is hex; throws otherwise. */
export function normalizeSequencer(sequencer: string): string {
  const upper = sequencer.trim().toUpperCase();
  if (!HEX.test(upper)) {
    throw new Error(`sequencer "${sequencer}" is not a hexadecimal string`);
  }
  return upper;
}

/** Negative when `a` happened before `b`, zero when equal, positive when after. */
export function compareSequencers(a: string, b: string): number {
  const x = normalizeSequencer(a);
  const y = normalizeSequencer(b);
  const width = Math.max(x.length, y.length);
  const left = x.padEnd(width, '0');
  const right = y.padEnd(width, '0');
  return left < right ? -1 : left > right ? 1 : 0;
}
