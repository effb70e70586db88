import type { IdempotencyRecord, RecordScope } from './record.js';

export interface LocalCacheOptions {
  /** Most records kept; the least recently used go first. Default 1000. */
  maxEntries?: number;
  /** Longest time a record is served from memory before the store is asked again, in ms. Default 300000 (5 min). */
  maxAgeMs?: number;
}

/**
 * Completed records of this process, so that hot replays skip the store. Only completed records go
 * in (an in-progress record can change at any moment); a record is served only until its own
 * expiry and at most `maxAgeMs` after it was cached; the scope (tenant included) is the cache key.
 */
export class LocalCache {
  private readonly entries = new Map<string, { record: IdempotencyRecord; cachedAt: number }>();
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;

  constructor(options: LocalCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 1000;
    this.maxAgeMs = options.maxAgeMs ?? 300_000;
  }

  get size(): number {
    return this.entries.size;
  }

  get(scope: RecordScope, now: number): IdempotencyRecord | undefined {
    const id = idOf(scope);
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.record.expiresAt <= now || entry.cachedAt + this.maxAgeMs <= now) {
      this.entries.delete(id);
      return undefined;
    }
    // Refresh its place in the LRU order.
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry.record;
  }

  set(record: IdempotencyRecord, now: number): void {
    if (record.status !== 'completed' || record.expiresAt <= now) return;
    const id = idOf(record);
    this.entries.delete(id);
    this.entries.set(id, { record, cachedAt: now });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

function idOf(scope: RecordScope): string {
  return `${scope.tenant}\u0000${scope.operation}\u0000${scope.key}`;
}
