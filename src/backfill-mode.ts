/**
 * What a backfill copies from the source bucket.
 */
export enum BackfillMode {
  /** Every version and delete marker of every key, oldest first per key. */
  ALL_VERSIONS = 'all-versions',
  /** Only each key's current version (deleted keys are skipped). */
  CURRENT_VERSIONS = 'current-versions',
}
