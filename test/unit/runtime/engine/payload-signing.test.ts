import { payloadSigningFor } from '../../../../src/runtime/engine/payload-signing';

describe('payloadSigningFor', () => {
  test.each([
    ['https:', 'unsigned'],
    ['https', 'unsigned'],
    ['HTTPS:', 'unsigned'],
    ['http:', 'signed'],
    ['http', 'signed'],
    ['', 'signed'],
    [undefined, 'signed'],
  ])('%s: %s', (protocol, expected) => {
    expect(payloadSigningFor(protocol)).toBe(expected);
  });
});
