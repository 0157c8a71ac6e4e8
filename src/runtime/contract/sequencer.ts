/**
 * S3's `sequencer` orders the events of one object key: a greater value happened later.
 *
 * AWS's current event documentation says to right-pad the shorter value with zeros and compare the
 * strings (earlier revisions said left-pad; the current text and the AWS Lambda event libraries
 * follow right-pad). Values are hex of varying length and case, and can be longer than 16 digits,
 * so they are compared as strings, never parsed into a 64-bit integer (which overflows).
 */

const HEX = /^[0-9A-F]+$/;

/**
 * The longest sequencer accepted, in hex digits. AWS documents no maximum: its examples show 16
 * (`617f08299329d189`) and 18 (`0055AED6DCD90281E5`) digits, and field reports say values grow past
 * 16. 64 digits (256 bits) is more than three times the longest documented value, so a value S3
 * sends is never refused for its length, while a longer one cannot be S3's: it is rejected before
 * it is compared, stored in the version map or logged. A value S3 sent that was refused would end
 * in a dead-letter queue (with this message in the log), never be dropped silently.
 */
export const MAX_SEQUENCER_DIGITS = 64;

/** Upper-cases a sequencer and checks that it is hex of at most MAX_SEQUENCER_DIGITS digits; throws otherwise. */
export function normalizeSequencer(sequencer: string): string {
  const upper = sequencer.trim().toUpperCase();
  if (upper.length > MAX_SEQUENCER_DIGITS) {
    // Quote only its start: the value is untrusted and may be huge.
    throw new Error(`sequencer "${sequencer.trim().slice(0, 20)}..." is ${upper.length} characters long; ` +
      `S3's are hexadecimal strings of at most ${MAX_SEQUENCER_DIGITS} digits`);
  }
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
