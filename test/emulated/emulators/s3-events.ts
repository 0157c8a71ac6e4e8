import {
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  PutObjectCommand,
  PutObjectCommandInput,
  PutObjectTaggingCommand,
  S3Client,
  Tag,
} from '@aws-sdk/client-s3';

/**
 * Performs real operations on the emulated source bucket and returns the S3 event each one causes,
 * in the exact shape AWS documents for S3 events delivered by EventBridge. (moto's own EventBridge
 * events differ from AWS's: a constant sequencer and no deletion-type, so they are not used.)
 */
export type S3Event = {
  readonly 'version': '0';
  readonly 'id': string;
  readonly 'detail-type': string;
  readonly 'source': 'aws.s3';
  readonly 'account': string;
  readonly 'time': string;
  readonly 'region': string;
  readonly 'resources': string[];
  readonly 'detail': Record<string, unknown> & { readonly object: Record<string, unknown> };
};

let sequence = 0x617f08299329d189n;
let eventCount = 0;

/** S3-like sequencers: increasing per key, hex, in mixed case (real examples mix case). */
export function nextSequencer(): string {
  sequence += BigInt(1 + Math.floor(Math.random() * 1000));
  const hex = sequence.toString(16);
  return Math.random() < 0.5 ? hex.toUpperCase() : hex;
}

export class S3EventSource {
  constructor(private readonly s3: S3Client, readonly bucket: string, private readonly region = 'us-east-1') {}

  /** PutObject, then its Object Created event. */
  async put(key: string, body: string | Uint8Array, params: Partial<PutObjectCommandInput> = {}): Promise<S3Event> {
    const result = await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ...params }));
    return this.event('Object Created', {
      object: {
        'key': key,
        'size': typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
        'etag': result.ETag?.replace(/"/g, ''),
        'version-id': result.VersionId,
        'sequencer': nextSequencer(),
      },
      reason: 'PutObject',
    });
  }

  /** DeleteObject without a version: creates a delete marker; its Object Deleted event. */
  async deleteMarker(key: string): Promise<S3Event> {
    const result = await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    return this.event('Object Deleted', {
      'object': { 'key': key, 'etag': 'd41d8cd98f00b204e9800998ecf8427e', 'version-id': result.VersionId, 'sequencer': nextSequencer() },
      'reason': 'DeleteObject',
      'deletion-type': 'Delete Marker Created',
    });
  }

  /** DeleteObject of one version: a permanent delete; its Object Deleted event. */
  async deleteVersion(key: string, versionId: string): Promise<S3Event> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
    return this.permanentDelete(key, versionId, 'DeleteObject');
  }

  /** The event S3 sends when lifecycle expires a version or creates a delete marker (no API call causes it here). */
  lifecycleExpiration(key: string, versionId: string, deletionType: 'Permanently Deleted' | 'Delete Marker Created'): S3Event {
    return this.event('Object Deleted', {
      'object': { 'key': key, 'version-id': versionId, 'sequencer': nextSequencer() },
      'reason': 'Lifecycle Expiration',
      'deletion-type': deletionType,
      'requester': 's3.amazonaws.com',
    });
  }

  /** PutObjectTagging on one version; its Object Tags Added event. */
  async tag(key: string, versionId: string, tags: Tag[]): Promise<S3Event> {
    await this.s3.send(new PutObjectTaggingCommand({ Bucket: this.bucket, Key: key, VersionId: versionId, Tagging: { TagSet: tags } }));
    return this.tagsEvent('Object Tags Added', key, versionId);
  }

  /** DeleteObjectTagging on one version; its Object Tags Deleted event. */
  async untag(key: string, versionId: string): Promise<S3Event> {
    await this.s3.send(new DeleteObjectTaggingCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
    return this.tagsEvent('Object Tags Deleted', key, versionId);
  }

  /**
   * The event S3 sends for a version or delete marker another client wrote (a replicator's replica,
   * say): Object Created, or Object Deleted with a delete marker created.
   */
  observed(entry: { key: string; versionId: string; isDeleteMarker: boolean; size?: number; eTag?: string }): S3Event {
    if (entry.isDeleteMarker) {
      return this.event('Object Deleted', {
        'object': { 'key': entry.key, 'version-id': entry.versionId, 'sequencer': nextSequencer() },
        'reason': 'DeleteObject',
        'deletion-type': 'Delete Marker Created',
      });
    }
    return this.event('Object Created', {
      object: { 'key': entry.key, 'size': entry.size, 'etag': entry.eTag?.replace(/"/g, ''), 'version-id': entry.versionId, 'sequencer': nextSequencer() },
      reason: 'PutObject',
    });
  }

  private tagsEvent(detailType: string, key: string, versionId: string): S3Event {
    return this.event(detailType, { object: { 'key': key, 'version-id': versionId, 'etag': 'd41d8cd98f00b204e9800998ecf8427e' } });
  }

  private permanentDelete(key: string, versionId: string, reason: string): S3Event {
    return this.event('Object Deleted', {
      'object': { 'key': key, 'version-id': versionId, 'sequencer': nextSequencer() },
      'reason': reason,
      'deletion-type': 'Permanently Deleted',
    });
  }

  private event(detailType: string, detail: Record<string, unknown> & { object: Record<string, unknown> }): S3Event {
    eventCount += 1;
    const requestId = `REQ${eventCount.toString(16).toUpperCase().padStart(13, '0')}`;
    return {
      'version': '0',
      'id': `00000000-0000-4000-8000-${eventCount.toString(16).padStart(12, '0')}`,
      'detail-type': detailType,
      'source': 'aws.s3',
      'account': '123456789012',
      'time': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'region': this.region,
      'resources': [`arn:aws:s3:::${this.bucket}`],
      'detail': {
        'version': '0',
        'bucket': { name: this.bucket },
        'request-id': requestId,
        'requester': '123456789012',
        'source-ip-address': '127.0.0.1',
        ...detail,
      },
    };
  }
}
