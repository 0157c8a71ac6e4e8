import { S3Event, S3EventSource } from '../../test/emulated/emulators/s3-events';

/** One write to the source bucket: the event it causes, and how the tables name the version. */
export interface Step {
  readonly label: string;
  readonly event: S3Event;
}

const CSV = 'reports/2026/q1.csv';
const LOGO = 'reports/images/logo v2+final.png';
const NOTES = 'reports/drafts/notes.txt';
const DATA = 'reports/data/données.json';
const SCRATCH = 'scratch/tmp.txt';

/** The keys the scenario writes, in the order the comparison lists them. */
export const KEYS = [CSV, LOGO, NOTES, DATA, SCRATCH];

/** Whether the example replicates the key (its prefix is `reports/`). */
export function expectReplicated(key: string): boolean {
  return key.startsWith('reports/');
}

/** The source bucket's history, made with real requests; each step's event in AWS's shape. */
export async function writeSourceObjects(events: S3EventSource): Promise<Record<string, Step>> {
  const steps: Record<string, Step> = {};
  const csv = (rows: number) => `region,total\n${Array.from({ length: rows }, (_, i) => `r${i},${10 + i}`).join('\n')}\n`;
  steps.csv1 = { label: 'v1', event: await events.put(CSV, csv(1), { ContentType: 'text/csv' }) };
  steps.csv2 = { label: 'v2', event: await events.put(CSV, csv(2), { ContentType: 'text/csv' }) };
  steps.csv3 = { label: 'v3', event: await events.put(CSV, csv(3), { ContentType: 'text/csv' }) };
  steps.logo = { label: 'v1', event: await events.put(LOGO, Buffer.alloc(4096, 7), { ContentType: 'image/png', Tagging: 'team=brand' }) };
  steps.notes = { label: 'v1', event: await events.put(NOTES, 'to be deleted', { ContentType: 'text/plain' }) };
  steps.notesDeleted = { label: 'delete marker', event: await events.deleteMarker(NOTES) };
  steps.data = { label: 'v1', event: await events.put(DATA, '{"ok":true}', { ContentType: 'application/json' }) };
  const dataVersion = steps.data.event.detail.object['version-id'] as string;
  steps.dataTagged = { label: 'v1 tags', event: await events.tag(DATA, dataVersion, [{ Key: 'classification', Value: 'internal' }]) };
  steps.scratch = { label: 'v1', event: await events.put(SCRATCH, 'not under reports/', { ContentType: 'text/plain' }) };
  return steps;
}

/**
 * The order in which EventBridge delivers the events (it keeps none): fixed, so the run is
 * repeatable. v3 of the CSV arrives before v2, which then arrives after the newer replica.
 */
export const DELIVERY_ORDER = ['csv1', 'logo', 'csv3', 'notes', 'data', 'csv2', 'dataTagged', 'notesDeleted', 'scratch'];

/** The replicator's outcome code (`action`, or `skip:<reason>`) of an older version arriving after a newer replica. */
export const SKIPPED_AS_OLDER = 'skip:older-than-replica';

const OUTCOMES: Record<string, string> = {
  'copy': 'replicated',
  'create-delete-marker': 'delete marker replicated',
  'sync-tags': 'tags replicated',
  [SKIPPED_AS_OLDER]: 'SKIPPED: older than the replica',
};

/** How the delivery table shows a replicator outcome code; undefined: the delivery failed. */
export function describeOutcome(code: string | undefined): string {
  return code ? OUTCOMES[code] ?? code : 'FAILED (will be retried)';
}

/** What identifies a version (or its tags) in both an S3 event and a queue message. */
export function versionKey(key: string, versionId: string, tags: boolean): string {
  return `${key}\u0000${versionId}\u0000${tags ? 'tags' : 'object'}`;
}

/** The steps' labels by `versionKey`, to name the versions the replicator reports. */
export function labelsOf(steps: Record<string, Step>): Map<string, string> {
  return new Map(DELIVERY_ORDER.map((name) => {
    const { event, label } = steps[name];
    const tags = event['detail-type'].startsWith('Object Tags');
    return [versionKey(event.detail.object.key as string, event.detail.object['version-id'] as string, tags), label];
  }));
}
