import { utf8ByteLength } from './encoding.js';
import { type KeyRules, validateKey } from './key.js';
import type { Outcome } from './outcome.js';
import { type IdempotencyRecord, type RecordScope, type RecordStatus, isExpired, isReclaimable } from './record.js';
import { type Tenant, toRecordScope } from './scope.js';
import { sha256 } from './sha256.js';
import type { IdempotencyStore } from './store.js';
import type { StoredOutcomes } from './stored-outcome.js';

/** An instant as epoch milliseconds and as ISO 8601 text (UTC). */
export interface Instant {
  ms: number;
  iso: string;
}

/**
 * What a record means at the moment it was read:
 * - "in_progress": claimed, lease running (a duplicate gets 409 or waits);
 * - "lease_expired": claimed, but the holder stopped renewing; the next call takes it over;
 * - "completed": the outcome is replayed;
 * - "expired": retention is over; calls treat the record as absent and purge deletes it.
 */
export type InspectedState = 'in_progress' | 'lease_expired' | 'completed' | 'expired';

export interface InspectOptions {
  /** Decode the stored outcome (through the engine's codec and serializer) into `outcome`. Default false. */
  includeOutcome?: boolean;
}

/** What the stored outcome of a completed record is, without its content. */
export interface StoredOutcomeSummary {
  /** "success" or "error" as stored; "undecodable" when the codec or serializer could not read it. */
  kind: 'success' | 'error' | 'undecodable';
  /** Size of the stored text (after the codec) in UTF-8 bytes. */
  bytes: number;
}

/** One record as an operator sees it. */
export interface RecordInspection {
  /** The scope the record is stored under (tenant and operation in their stored form). */
  scope: RecordScope;
  status: RecordStatus;
  state: InspectedState;
  fence: number;
  /**
   * Names this claim without revealing its token; pass it to `release` so that only the claim you
   * looked at is freed. It changes when the record is claimed again (takeover, or a new claim).
   */
  revision: string;
  fingerprint: string;
  createdAt: Instant;
  updatedAt: Instant;
  /** Null once completed. */
  leaseExpiresAt: Instant | null;
  expiresAt: Instant;
  /** Null while in progress. */
  storedOutcome: StoredOutcomeSummary | null;
  /** The decoded outcome, only with `includeOutcome` on a completed, decodable record. */
  outcome?: Outcome;
  /** Why the stored outcome could not be decoded (kind "undecodable"). */
  decodeError?: string;
}

/** What `release` freed. */
export interface ReleasedClaim {
  scope: RecordScope;
  fence: number;
  revision: string;
}

export type ReleaseRefusal = 'not_found' | 'changed' | 'completed';

/** `release` refused to change anything; `reason` says why. */
export class ReleaseRefusedError extends Error {
  override readonly name = 'ReleaseRefusedError';
  constructor(
    readonly reason: ReleaseRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** What the engine hands to inspect and release: its store, outcome codec, key rules and clock. */
export interface InspectContext {
  store: IdempotencyStore;
  outcomes: StoredOutcomes;
  keyRules: KeyRules | undefined;
  now: () => number;
}

/** The revision of a claim: a digest of its token (the token itself lets its holder complete it). */
export function revisionOf(record: Pick<IdempotencyRecord, 'token'>): string {
  return sha256(`oncely revision\0${record.token}`, 'hex').slice(0, 20);
}

/** The scope a call with these arguments stores its record under, validated as calls are. */
export function scopeOf(context: InspectContext, tenant: Tenant, operation: string, key: string): RecordScope {
  return toRecordScope(tenant, operation, validateKey(key, context.keyRules));
}

export async function inspectRecord(
  context: InspectContext,
  scope: RecordScope,
  options: InspectOptions = {},
): Promise<RecordInspection | null> {
  const record = await context.store.get(scope);
  if (!record) return null;
  const inspection: RecordInspection = {
    scope: { tenant: record.tenant, operation: record.operation, key: record.key },
    status: record.status,
    state: stateOf(record, context.now()),
    fence: record.fence,
    revision: revisionOf(record),
    fingerprint: record.fingerprint,
    createdAt: instant(record.createdAt),
    updatedAt: instant(record.updatedAt),
    leaseExpiresAt: record.leaseExpiresAt === null ? null : instant(record.leaseExpiresAt),
    expiresAt: instant(record.expiresAt),
    storedOutcome: null,
  };
  if (record.status !== 'completed' || record.response === null) return inspection;
  const bytes = utf8ByteLength(record.response);
  try {
    // Decoding is the only way to tell success from error through a codec (it may encrypt).
    const outcome = await context.outcomes.decode(record);
    inspection.storedOutcome = { kind: outcome.ok ? 'success' : 'error', bytes };
    if (options.includeOutcome) inspection.outcome = outcome;
  } catch (error) {
    inspection.storedOutcome = { kind: 'undecodable', bytes };
    inspection.decodeError = String((error as Error)?.message ?? error);
  }
  return inspection;
}

/**
 * Frees a stuck in-progress claim so that the next call with the key runs the work. Fenced: only
 * the claim named by `revision` (from inspectRecord) is deleted, through the store's token-guarded
 * release, so a claim taken over, completed or released since it was inspected stays untouched.
 */
export async function releaseRecord(context: InspectContext, scope: RecordScope, revision: string): Promise<ReleasedClaim> {
  if (typeof revision !== 'string' || revision === '') {
    throw new TypeError('oncely: release needs the `revision` of the record, as inspect() reported it.');
  }
  const record = await context.store.get(scope);
  if (!record) throw new ReleaseRefusedError('not_found', 'oncely: there is no record for this key (released, purged, or never claimed).');
  if (revisionOf(record) !== revision) throw changed(record);
  if (record.status === 'completed') {
    throw new ReleaseRefusedError(
      'completed',
      'oncely: the record is completed, not stuck: its stored outcome is replayed to retries until it expires. Release frees in-progress claims only.',
    );
  }
  if (!(await context.store.release(scope, record.token))) {
    const now = await context.store.get(scope);
    throw now ? changed(now) : new ReleaseRefusedError('changed', 'oncely: the record changed since it was inspected: it is gone now. Nothing was released.');
  }
  return { scope, fence: record.fence, revision };
}

function changed(record: IdempotencyRecord): ReleaseRefusedError {
  const what = record.status === 'completed' ? 'it completed' : `it was claimed again (fence ${record.fence}, revision ${revisionOf(record)})`;
  return new ReleaseRefusedError('changed', `oncely: the record changed since it was inspected: ${what}. Nothing was released; inspect it again.`);
}

function stateOf(record: IdempotencyRecord, now: number): InspectedState {
  if (isExpired(record, now)) return 'expired';
  if (record.status === 'completed') return 'completed';
  return isReclaimable(record, now) ? 'lease_expired' : 'in_progress';
}

function instant(ms: number): Instant {
  return { ms, iso: new Date(ms).toISOString() };
}
