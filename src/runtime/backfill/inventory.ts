import { ListedEntry } from './backfill-plan';

/**
 * S3 Inventory, as S3 writes it: a `manifest.json` naming the inventory's CSV files (gzip'd, no
 * header, every field quoted, the key URL-encoded with `+` for a space) and their columns
 * (`fileSchema`). Pure: parsing and validation only; the backfill reads the files.
 */

/** One CSV file of an inventory. */
export interface InventoryFile {
  readonly key: string;
  readonly size?: number;
  /** The MD5 of the file's bytes (gzip'd), hex, as the manifest gives it. */
  readonly md5: string;
}

/** A validated manifest: where its files are, and which column holds what. */
export interface InventoryManifest {
  /** The bucket holding the inventory files (the manifest's `destinationBucket`, as a name). */
  readonly bucket: string;
  readonly files: readonly InventoryFile[];
  readonly columns: InventoryColumns;
}

/** The position of each column the backfill reads, in the manifest's `fileSchema`. */
export interface InventoryColumns {
  readonly count: number;
  readonly key: number;
  readonly versionId: number;
  readonly isLatest: number;
  readonly isDeleteMarker: number;
  readonly size?: number;
  readonly lastModified?: number;
  readonly eTag?: number;
}

/** A manifest or file that cannot be backfilled from, with what to fix. */
export class InventoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InventoryError';
  }
}

/** `s3://bucket/key` as bucket and key. */
export function parseS3Location(location: unknown): { bucket: string; key: string } {
  const match = typeof location === 'string' ? /^s3:\/\/([^/]+)\/(.+)$/.exec(location) : null;
  if (!match) throw new InventoryError(`manifest ${JSON.stringify(location)} is not an s3://<bucket>/<key> location of an S3 Inventory manifest.json`);
  return { bucket: match[1], key: match[2] };
}

/**
 * Parses and validates a `manifest.json`: it must be a CSV inventory of `sourceBucket` (the
 * replicated bucket) listing all versions (`VersionId`, `IsLatest` and `IsDeleteMarker` columns).
 * Columns may be in any order and others may be present.
 */
export function parseManifest(text: string, sourceBucket: string): InventoryManifest {
  let manifest: any;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw new InventoryError('the manifest is not JSON: give the manifest.json of an S3 Inventory report');
  }
  if (typeof manifest !== 'object' || manifest === null) throw new InventoryError('the manifest is not a JSON object');
  if (manifest.sourceBucket !== sourceBucket) {
    throw new InventoryError(`the manifest is an inventory of bucket ${JSON.stringify(manifest.sourceBucket)}, not of the replicated bucket ${JSON.stringify(sourceBucket)}`);
  }
  if (manifest.fileFormat !== 'CSV') {
    throw new InventoryError(`the inventory's fileFormat is ${JSON.stringify(manifest.fileFormat)}: only CSV is read; configure the inventory with format CSV`);
  }
  if (typeof manifest.fileSchema !== 'string') throw new InventoryError('the manifest has no fileSchema');
  const columns = inventoryColumns(manifest.fileSchema);
  if (!Array.isArray(manifest.files) || manifest.files.length === 0) throw new InventoryError('the manifest lists no files');
  const files = manifest.files.map((file: any, index: number): InventoryFile => {
    if (typeof file?.key !== 'string' || typeof file?.MD5checksum !== 'string') {
      throw new InventoryError(`the manifest's file ${index} has no key or MD5checksum`);
    }
    return { key: file.key, md5: file.MD5checksum.toLowerCase(), ...(typeof file.size === 'number' ? { size: file.size } : {}) };
  });
  const bucket = typeof manifest.destinationBucket === 'string' ? manifest.destinationBucket.replace(/^arn:[^:]+:s3:::/, '') : '';
  if (!bucket) throw new InventoryError('the manifest has no destinationBucket');
  return { bucket, files, columns };
}

/** The columns the backfill reads, by name in `fileSchema` ("Bucket, Key, VersionId, ..."). */
export function inventoryColumns(fileSchema: string): InventoryColumns {
  const names = fileSchema.split(',').map((name) => name.trim());
  const at = (name: string) => {
    const index = names.indexOf(name);
    return index < 0 ? undefined : index;
  };
  const missing = ['Key', 'VersionId', 'IsLatest', 'IsDeleteMarker'].filter((name) => at(name) === undefined);
  if (missing.length > 0) {
    throw new InventoryError(`the inventory's fileSchema lacks ${missing.join(', ')}: configure the inventory with ` +
      'IncludedObjectVersions "All" (it adds VersionId, IsLatest and IsDeleteMarker)');
  }
  return {
    count: names.length,
    key: at('Key')!,
    versionId: at('VersionId')!,
    isLatest: at('IsLatest')!,
    isDeleteMarker: at('IsDeleteMarker')!,
    size: at('Size'),
    lastModified: at('LastModifiedDate'),
    eTag: at('ETag'),
  };
}

/** The fields of one CSV line: quoted (`"a","b"`, a quote inside doubled) or bare. */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        const quote = line.indexOf('"', i);
        if (quote < 0) throw new InventoryError(`unterminated quoted field in inventory line ${JSON.stringify(line.slice(0, 200))}`);
        value += line.slice(i, quote);
        if (line[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      fields.push(value);
    } else {
      const comma = line.indexOf(',', i);
      fields.push(line.slice(i, comma < 0 ? line.length : comma));
      i = comma < 0 ? line.length : comma;
    }
    if (i >= line.length) return fields;
    if (line[i] !== ',') throw new InventoryError(`malformed inventory line ${JSON.stringify(line.slice(0, 200))}`);
    i += 1;
  }
}

/** An inventory key: URL-encoded as a form field (`+` a space, `%2B` a plus). */
export function decodeInventoryKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/** One inventory line as the listing entry the backfill plans with. */
export function inventoryEntry(line: string, columns: InventoryColumns): ListedEntry {
  const fields = parseCsvLine(line);
  if (fields.length < columns.count) {
    throw new InventoryError(`inventory line has ${fields.length} fields, the fileSchema ${columns.count}: ${JSON.stringify(line.slice(0, 200))}`);
  }
  const optional = (index?: number) => (index === undefined || fields[index] === '' ? undefined : fields[index]);
  const deleteMarker = fields[columns.isDeleteMarker] === 'true';
  const size = optional(columns.size);
  const lastModified = optional(columns.lastModified);
  return {
    key: decodeInventoryKey(fields[columns.key]),
    // An object written before versioning was enabled has no version id: S3 names it "null".
    versionId: fields[columns.versionId] || 'null',
    kind: deleteMarker ? 'deleteMarker' : 'object',
    isLatest: fields[columns.isLatest] === 'true',
    lastModified: lastModified ? new Date(lastModified) : new Date(0),
    ...(!deleteMarker && size !== undefined ? { size: Number(size) } : {}),
    ...(!deleteMarker && optional(columns.eTag) ? { eTag: optional(columns.eTag)!.replace(/"/g, '') } : {}),
  };
}

/**
 * Splits one chunk of a file's entries into those grouped and planned now and those held back:
 * while the file goes on, its last key may continue in the next chunk (as a listing page's last
 * key may), so its entries wait for it. Entries of one key are then ordered oldest first by
 * `groupPageByKey`, its `IsLatest` entry last.
 */
export function splitChunk(entries: readonly ListedEntry[], endOfFile: boolean): { now: ListedEntry[]; heldBack: ListedEntry[] } {
  if (endOfFile || entries.length === 0) return { now: [...entries], heldBack: [] };
  const lastKey = entries[entries.length - 1].key;
  let start = entries.length;
  while (start > 0 && entries[start - 1].key === lastKey) start -= 1;
  // A chunk of one key only: it goes as it is (a key with more versions than a chunk holds).
  if (start === 0) return { now: [...entries], heldBack: [] };
  // The trailing lines only: the file resumes after the lines planned now.
  return { now: entries.slice(0, start), heldBack: entries.slice(start) };
}
