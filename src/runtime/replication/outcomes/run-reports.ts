import type { ReplicationMessage } from '../../contract/replication-message';
import type { Outcome } from '../replication-decision';

/** What became of one message a run (a backfill) enqueued, as the run's report records it. */
export interface DeliveredOutcome {
  readonly key: string;
  readonly versionId: string;
  readonly outcome: 'replicated' | 'already-present' | 'skipped-by-filter' | 'skipped' | 'failed';
  /** Why it was skipped or failed. */
  readonly reason?: string;
  readonly bytes?: number;
}

/**
 * Where the replicator reports the outcome of a message that carries a run id
 * (`message.backfillRun`). The backfill provides it; replication knows nothing of how runs are kept.
 */
export interface RunReports {
  recordOutcome(runId: string, outcome: DeliveredOutcome): Promise<void>;
}

/** What one replicated message means for its run's report; undefined while its copy continues. */
export function deliveredOutcome(message: ReplicationMessage, outcome: Outcome): DeliveredOutcome | undefined {
  if (outcome.action === 'copy-continued') return undefined;
  const base = { key: message.key, versionId: message.versionId };
  if (outcome.action === 'copy' || outcome.action === 'create-delete-marker') return { ...base, outcome: 'replicated', bytes: outcome.bytes };
  if (outcome.action === 'skip' && outcome.reason === 'duplicate') return { ...base, outcome: 'already-present' };
  // Out of the scope by its tags, as a key outside the prefixes is by the listing.
  if (outcome.action === 'skip' && outcome.reason === 'tag-filter') return { ...base, outcome: 'skipped-by-filter', reason: outcome.reason };
  if (outcome.action === 'skip') return { ...base, outcome: 'skipped', reason: outcome.reason };
  return { ...base, outcome: 'replicated' };
}
