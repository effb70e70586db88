import { type IdempotencyRecord, type RecordScope, isExpired, isReclaimable } from './record.js';
import type { Completion, CreateOrGet, IdempotencyStore, StepRecord } from './store.js';

const scopeId = (s: RecordScope) => JSON.stringify([s.tenant, s.operation, s.key]);

/**
 * Records in a Map of this process. NOT DURABLE and not shared between processes: for unit tests
 * and demos only. Every method is synchronous under the hood, so each step is atomic in one process.
 * Records external steps (`step()`); it has no transactions, so no database steps.
 */
export class MemoryStore implements IdempotencyStore {
  private readonly records = new Map<string, IdempotencyRecord>();
  /** The recorded steps of each record (by scope), kept beside it: records stay plain IdempotencyRecords. */
  private readonly steps = new Map<string, StepRecord[]>();

  /** Number of records held (expired ones included until purged). */
  get size(): number {
    return this.records.size;
  }

  async create(record: IdempotencyRecord): Promise<boolean> {
    const id = scopeId(record);
    if (this.records.has(id)) return false;
    this.records.set(id, { ...record });
    this.steps.delete(id);
    return true;
  }

  async createOrGet(record: IdempotencyRecord): Promise<CreateOrGet> {
    const id = scopeId(record);
    const current = this.records.get(id);
    if (current) return { created: false, existing: { ...current } };
    this.records.set(id, { ...record });
    this.steps.delete(id);
    return { created: true };
  }

  async get(scope: RecordScope): Promise<IdempotencyRecord | null> {
    const record = this.records.get(scopeId(scope));
    return record ? { ...record } : null;
  }

  async takeOver(record: IdempotencyRecord, expectedToken: string, now: number): Promise<boolean> {
    const current = this.records.get(scopeId(record));
    if (!current || current.token !== expectedToken || !isReclaimable(current, now)) return false;
    // Expired: a new logical operation starts without steps. A lease that ran out: the taker resumes them.
    if (isExpired(current, now)) this.steps.delete(scopeId(record));
    this.records.set(scopeId(record), { ...record });
    return true;
  }

  async renew(scope: RecordScope, token: string, leaseExpiresAt: number, now: number): Promise<boolean> {
    const current = this.held(scope, token);
    if (!current) return false;
    current.leaseExpiresAt = leaseExpiresAt;
    current.expiresAt = Math.max(current.expiresAt, leaseExpiresAt);
    current.updatedAt = now;
    return true;
  }

  async complete(scope: RecordScope, token: string, completion: Completion): Promise<boolean> {
    const id = scopeId(scope);
    const current = this.held(scope, token, id);
    if (!current) return false;
    // Steps are never read after completion.
    this.steps.delete(id);
    Object.assign(current, {
      status: 'completed',
      response: completion.response,
      leaseExpiresAt: null,
      updatedAt: completion.completedAt,
      expiresAt: completion.expiresAt,
    });
    return true;
  }

  async release(scope: RecordScope, token: string): Promise<boolean> {
    const id = scopeId(scope);
    if (!this.held(scope, token, id)) return false;
    this.steps.delete(id);
    return this.records.delete(id);
  }

  async loadSteps(scope: RecordScope, token: string): Promise<StepRecord[] | null> {
    if (!this.held(scope, token)) return null;
    return (this.steps.get(scopeId(scope)) ?? []).map((step) => ({ ...step }));
  }

  async recordStep(scope: RecordScope, token: string, step: StepRecord, leaseExpiresAt: number): Promise<boolean> {
    const current = this.held(scope, token);
    if (!current) return false;
    const id = scopeId(scope);
    const steps = this.steps.get(id) ?? [];
    if (steps.some((recorded) => recorded.index === step.index)) return false;
    this.steps.set(id, [...steps, { ...step }].sort((a, b) => a.index - b.index));
    current.leaseExpiresAt = leaseExpiresAt;
    current.expiresAt = Math.max(current.expiresAt, leaseExpiresAt);
    current.updatedAt = step.completedAt;
    return true;
  }

  async purgeExpired(now: number, limit: number): Promise<number> {
    const expired = [...this.records.entries()]
      .filter(([, r]) => r.expiresAt <= now && (r.status === 'completed' || (r.leaseExpiresAt ?? 0) <= now))
      .sort(([, a], [, b]) => a.expiresAt - b.expiresAt)
      .slice(0, limit);
    for (const [id] of expired) {
      this.records.delete(id);
      this.steps.delete(id);
    }
    return expired.length;
  }

  private held(scope: RecordScope, token: string, id = scopeId(scope)): IdempotencyRecord | undefined {
    const current = this.records.get(id);
    return current && current.token === token && current.status === 'in_progress' ? current : undefined;
  }
}
