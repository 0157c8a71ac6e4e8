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
  /**
   * Records the outcome; true when it was the version's first (it resolved a version the run still
   * waited for), which the caller adds to the run's count with `addResolved`.
   */
  recordOutcome(runId: string, outcome: DeliveredOutcome): Promise<boolean>;
  /** Adds `count` first outcomes to the run's `resolved` counter. */
  addResolved(runId: string, count: number): Promise<void>;
}

/**
 * First outcomes counted per run during one invocation, so the run's counter gets one write per
 * invocation instead of one per version (a single item every replicator would otherwise write for
 * every version: a hot key at high concurrency, and a third of a backfilled version's writes).
 */
export class ResolvedCounts {
  private readonly counts = new Map<string, number>();

  add(runId: string): void {
    this.counts.set(runId, (this.counts.get(runId) ?? 0) + 1);
  }

  /** Each run's count, once: the counts are cleared as they are handed out. */
  take(): [runId: string, count: number][] {
    const taken = [...this.counts.entries()];
    this.counts.clear();
    return taken;
  }
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
