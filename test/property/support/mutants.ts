/**
 * Deliberately broken stores, each with one defect of a class the differential test must catch
 * (the test of the test: if the generators or the oracle lose their teeth, these stop failing).
 */
import { setImmediate as tick } from 'node:timers/promises';
import { MemoryStore } from '../../../src/core/memory-store.js';
import type { IdempotencyRecord, RecordScope } from '../../../src/core/record.js';
import type { Completion, IdempotencyStore } from '../../../src/core/store.js';

type MapScope = (scope: RecordScope) => RecordScope;

/** MemoryStore that files every record under `map(scope)`: a collation or encoding that merges names. */
class MergingStore implements IdempotencyStore {
  private readonly inner = new MemoryStore();
  constructor(private readonly map: MapScope) {}
  private at<T extends RecordScope>(r: T): T {
    return { ...r, ...this.map(r) };
  }
  create(r: IdempotencyRecord) {
    return this.inner.create(this.at(r));
  }
  get(s: RecordScope) {
    return this.inner.get(this.at(s));
  }
  takeOver(r: IdempotencyRecord, token: string, now: number) {
    return this.inner.takeOver(this.at(r), token, now);
  }
  renew(s: RecordScope, token: string, leaseExpiresAt: number, now: number) {
    return this.inner.renew(this.at(s), token, leaseExpiresAt, now);
  }
  complete(s: RecordScope, token: string, c: Completion) {
    return this.inner.complete(this.at(s), token, c);
  }
  release(s: RecordScope, token: string) {
    return this.inner.release(this.at(s), token);
  }
  purgeExpired(now: number, limit: number) {
    return this.inner.purgeExpired(now, limit);
  }
}

const both = (f: (s: string) => string): MapScope => (s) => ({ tenant: f(s.tenant), operation: f(s.operation), key: s.key });

/** A claim that checks, yields, then inserts: two concurrent claims both win. */
class RacyStore extends MergingStore {
  constructor() {
    super((s) => s);
  }
  override async create(r: IdempotencyRecord) {
    if (await this.get(r)) return false;
    await tick();
    await super.create(r);
    return true;
  }
}

/** Refuses what its encoding cannot hold, like PostgreSQL text and NUL: the engine reports 503. */
class AsciiOnlyStore extends MergingStore {
  constructor() {
    super((s) => {
      if (/[^\x20-\x7e]/.test(`${s.tenant}${s.operation}`)) throw new Error('invalid byte sequence for encoding "SQL_ASCII"');
      return s;
    });
  }
}

/** Takes over an expired or abandoned record but keeps its fence number. */
class StaleFenceStore extends MergingStore {
  constructor() {
    super((s) => s);
  }
  override takeOver(r: IdempotencyRecord, token: string, now: number) {
    return super.takeOver({ ...r, fence: Math.max(1, r.fence - 1) }, token, now);
  }
}

/**
 * One defect class each. (Stores that merge trailing spaces, NUL or lone surrogates are not listed:
 * the engine stores names holding those in digest form, so such a store cannot merge them.)
 */
export const MUTANTS: { name: string; store: () => IdempotencyStore }[] = [
  { name: 'case-insensitive collation', store: () => new MergingStore((s) => ({ tenant: s.tenant.toLowerCase(), operation: s.operation.toLowerCase(), key: s.key.toLowerCase() })) },
  { name: 'Unicode-normalizing (NFC) column', store: () => new MergingStore(both((s) => s.normalize('NFC'))) },
  { name: 'names cut to their 126-character readable prefix', store: () => new MergingStore(both((s) => s.slice(0, 126))) },
  { name: 'characters outside ASCII refused (503)', store: () => new AsciiOnlyStore() },
  { name: 'non-atomic claim', store: () => new RacyStore() },
  { name: 'fence not advanced on takeover', store: () => new StaleFenceStore() },
];
