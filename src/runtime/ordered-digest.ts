import { createHash, Hash } from 'crypto';

/**
 * An MD5 of a whole object fed by parts that arrive in any order: each part waits until every part
 * before it was hashed, so the memory held is only the parts already in flight.
 */
export class OrderedDigest {
  private readonly hash: Hash = createHash('md5');
  private next: number;
  private readonly waiting = new Map<number, { bytes: Uint8Array; done: () => void }>();
  private failure?: Error;
  private readonly rejecters = new Set<(error: Error) => void>();

  constructor(firstPartNumber = 1) {
    this.next = firstPartNumber;
  }

  /** Resolves once this part is hashed (so its buffer may be reused); rejects after `fail`. */
  feed(partNumber: number, bytes: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.rejecters.delete(reject);
        resolve();
      };
      this.rejecters.add(reject);
      this.waiting.set(partNumber, { bytes, done });
      this.drain();
    });
  }

  /** Releases every waiting part with the error: the copy stopped and nothing more will come. */
  fail(error: Error): void {
    this.failure = error;
    for (const reject of this.rejecters) reject(error);
    this.rejecters.clear();
    this.waiting.clear();
  }

  hex(): string {
    return this.hash.digest('hex');
  }

  private drain(): void {
    for (let part = this.waiting.get(this.next); part; part = this.waiting.get(this.next)) {
      this.hash.update(part.bytes);
      this.waiting.delete(this.next);
      this.next++;
      part.done();
    }
  }
}
