import { createHash } from 'node:crypto';
import type { RecordScope } from '../core/record.js';

/** Where one record lives in Redis. */
export interface RecordKeys {
  /** Names the record inside its bucket index: the base64url SHA-256 of the scope. */
  id: string;
  bucket: number;
  /** The hash holding the record's fields. */
  record: string;
  /** The sorted set of the bucket: record ids scored by when they may be purged. */
  index: string;
  /** Pub/sub channel announcing changes of the record to waiting duplicates. */
  channel: string;
}

/**
 * The key layout. A record's hash and its bucket's expiry index share the hash tag `{b<bucket>}`,
 * so in a Cluster they sit in one slot and every script touching both is atomic and legal. The
 * scope itself never appears in a key name: tenants, operations and keys may contain `{`, `}` or
 * anything else, and hashing them first means no user input can move a record to another slot.
 *
 * The layout depends on the prefix and the bucket count only; changing either on a live
 * deployment makes existing records invisible.
 */
export class KeyLayout {
  constructor(
    readonly prefix: string,
    readonly buckets: number,
  ) {}

  of(scope: RecordScope): RecordKeys {
    // JSON of the triple is unambiguous whatever the parts contain (a separator character is not).
    const digest = createHash('sha256').update(JSON.stringify([scope.tenant, scope.operation, scope.key])).digest();
    const bucket = digest.readUInt32BE(0) % this.buckets;
    const id = digest.toString('base64url');
    return { id, bucket, record: this.recordKey(bucket, id), index: this.indexKey(bucket), channel: this.channel(bucket, id) };
  }

  recordKey(bucket: number, id: string): string {
    return `${this.prefix}{b${bucket}}:r:${id}`;
  }

  indexKey(bucket: number): string {
    return `${this.prefix}{b${bucket}}:expiry`;
  }

  channel(bucket: number, id: string): string {
    return `${this.prefix}{b${bucket}}:changed:${id}`;
  }
}
