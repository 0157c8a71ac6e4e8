/**
 * Whether a part's payload is covered by its SigV4 signature. Signing a payload means a SHA-256 over
 * every byte (about 13 % of the engine's CPU on a large copy, by a profile of the benchmark). Over
 * TLS the bytes cannot be altered in transit, S3 accepts `x-amz-content-sha256: UNSIGNED-PAYLOAD`,
 * and the part's checksum header (CRC32 or the source's algorithm), which S3 verifies against the
 * bytes it received, stays the integrity guarantee. Over plain http nothing else protects the
 * payload from being changed on the way, so it stays signed.
 */
/** The value of `x-amz-content-sha256` that tells S3 the payload is not part of the signature. */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** Pure decision: `unsigned` only for an https endpoint (`protocol` as in a URL: "https:" or "https"). */
export function payloadSigningFor(protocol: string | undefined): 'signed' | 'unsigned' {
  return (protocol ?? '').replace(/:$/, '').toLowerCase() === 'https' ? 'unsigned' : 'signed';
}

type Handler = (args: { request?: unknown }) => Promise<unknown>;

/**
 * Sends this command's payload unsigned when its request goes over https. The SigV4 signer
 * (@smithy/signature-v4 `getPayloadHash`) takes a payload hash already present in
 * `x-amz-content-sha256` as it is instead of hashing the body; the header is set in the build step,
 * before the signer (finalizeRequest step) runs, once the request, and so its protocol, is known.
 */
export function unsignedPayloadOverTls<C extends { middlewareStack: { add: (...args: never[]) => void } }>(command: C): C {
  const mark = (next: Handler): Handler => async (args) => {
    const request = args.request as { protocol?: string; headers?: Record<string, string> } | undefined;
    if (request?.headers && payloadSigningFor(request.protocol) === 'unsigned') request.headers['x-amz-content-sha256'] = UNSIGNED_PAYLOAD;
    return next(args);
  };
  (command.middlewareStack.add as (middleware: unknown, options: object) => void)(mark, { step: 'build', priority: 'low', name: 'unsignedPayloadOverTls' });
  return command;
}
