// The engine's checkpoints kept in this process instead of the table: a diagnostic only. moto runs
// on the same two cores as everything else and answers a PutItem in milliseconds of Python; in AWS
// the table's work happens elsewhere. Copying with these isolates what the emulator costs the
// engine here; the engine's code path is the same (UploadCheckpoints' interface, every call made).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CompletedPart, CompletedUpload, UploadCheckpoint, UploadCheckpoints, UploadPlan } from '../src/runtime/engine/multipart/upload-checkpoints';

export class InMemoryCheckpoints extends UploadCheckpoints {
  private readonly uploads = new Map<string, { plan: UploadPlan; parts: Map<number, CompletedPart>; completed?: CompletedUpload }>();

  constructor() {
    super(undefined as unknown as DynamoDBClient, 'in-memory');
  }

  async load(key: string, versionId: string): Promise<UploadCheckpoint | undefined> {
    const upload = this.uploads.get(`${key}\u0000${versionId}`);
    return upload && { ...upload.plan, parts: [...upload.parts.values()], completed: upload.completed };
  }

  async start(key: string, versionId: string, plan: UploadPlan): Promise<void> {
    this.uploads.set(`${key}\u0000${versionId}`, { plan, parts: new Map() });
  }

  async recordPart(key: string, versionId: string, part: CompletedPart): Promise<void> {
    this.uploads.get(`${key}\u0000${versionId}`)?.parts.set(part.partNumber, part);
  }

  async markCompleted(key: string, versionId: string, completed: CompletedUpload): Promise<void> {
    const upload = this.uploads.get(`${key}\u0000${versionId}`);
    if (upload) this.uploads.set(`${key}\u0000${versionId}`, { ...upload, parts: new Map(), completed });
  }

  async clear(key: string, versionId: string): Promise<void> {
    this.uploads.delete(`${key}\u0000${versionId}`);
  }
}
