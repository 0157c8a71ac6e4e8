import type { ReplicationMessage } from '../../contract/replication-message';
import { SourceKeyEncodedError, SourceVersionArchivedError, SourceVersionCustomerKeyError, SourceVersionGoneError, SourceVersionIsReplicaError } from '../../engine/source-reads';
import type { Outcome } from '../replication-decision';

/** The skip a failed source read means, if any: a version verified gone, archived, SSE-C encrypted, or a replica. Anything else fails. */
export function skipForSourceRead(error: unknown): { readonly action: 'skip'; readonly reason: 'source-version-gone' | 'archived' | 'sse-c' | 'replica' } | undefined {
  if (error instanceof SourceVersionGoneError) return { action: 'skip', reason: 'source-version-gone' };
  if (error instanceof SourceVersionArchivedError) return { action: 'skip', reason: 'archived' };
  if (error instanceof SourceVersionCustomerKeyError) return { action: 'skip', reason: 'sse-c' };
  if (error instanceof SourceVersionIsReplicaError) return { action: 'skip', reason: 'replica' };
  return undefined;
}

/**
 * Replicates a message whose key turned out to be URL-encoded under its decoded key instead (once:
 * a decoded key is never decoded again). The outcome names the key it was replicated under.
 */
export function withDecodedKeyFallback<L>(
  replicate: (message: ReplicationMessage, limits: L) => Promise<Outcome>,
): (message: ReplicationMessage, limits: L) => Promise<Outcome & { readonly decodedKey?: string }> {
  return async (message, limits) => {
    try {
      return await replicate(message, limits);
    } catch (error) {
      if (!(error instanceof SourceKeyEncodedError) || error.key !== message.key) throw error;
      const outcome = await replicate({ ...message, key: error.decodedKey }, limits);
      return { ...outcome, decodedKey: error.decodedKey };
    }
  };
}
