/**
 * What a backfill copies from the source bucket.
 */
export enum BackfillMode {
  /** Every version and delete marker of every key, oldest first per key. */
  ALL_VERSIONS = 'all-versions',
  /** Only each key's current version (deleted keys are skipped). */
  CURRENT_VERSIONS = 'current-versions',
  /**
   * Each key's current version, compared with the destination's listing: only what is missing
   * there or differs (size, ETag) is enqueued; objects on the destination that the source does not
   * have are reported, never deleted. Needs `allowListing` on the `DestinationReplicationUser`.
   */
  RECONCILE = 'reconcile',
}
