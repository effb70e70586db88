import { inspect as show } from 'node:util';
import { encode } from '../core/encoding.js';
import type { Instant, RecordInspection } from '../core/inspect.js';

const STATE: Record<RecordInspection['state'], string> = {
  in_progress: 'in progress, lease running (duplicates get 409 or wait)',
  lease_expired: 'in progress, lease expired (the next call takes it over)',
  completed: 'completed (retries get the stored outcome)',
  expired: 'expired (calls treat it as absent; purge deletes it)',
};

const at = (instant: Instant | null) => (instant ? `${instant.iso} (${instant.ms})` : '-');

/** The inspection as aligned lines for a person. */
export function recordLines(record: RecordInspection): string[] {
  const outcome = record.storedOutcome;
  const lines = [
    `tenant       ${JSON.stringify(record.scope.tenant)}`,
    `operation    ${JSON.stringify(record.scope.operation)}`,
    `key          ${JSON.stringify(record.scope.key)}`,
    `status       ${record.status}: ${STATE[record.state]}`,
    `fence        ${record.fence}`,
    `revision     ${record.revision}`,
    `fingerprint  ${record.fingerprint}`,
    `created      ${at(record.createdAt)}`,
    `updated      ${at(record.updatedAt)}`,
    `lease until  ${at(record.leaseExpiresAt)}`,
    `expires      ${at(record.expiresAt)}`,
    `outcome      ${outcome ? `${outcome.kind}, ${outcome.bytes} bytes` : '-'}`,
  ];
  if (record.decodeError) lines.push(`             cannot decode: ${record.decodeError}`);
  if (record.outcome) {
    const body = record.outcome.ok ? record.outcome.value : record.outcome.error;
    lines.push(`${record.outcome.ok ? 'value' : 'error'}:`, show(body, { depth: null, colors: false }));
  }
  return lines;
}

/**
 * The inspection as JSON. A decoded outcome is written in oncely's tagged JSON (the default
 * serializer's format), so Dates, BigInts, Maps and errors survive instead of turning into {}.
 */
export function recordJson(record: RecordInspection): unknown {
  const { outcome, ...rest } = record;
  if (!outcome) return rest;
  return { ...rest, outcome: outcome.ok ? { ok: true, value: encode(outcome.value) } : { ok: false, error: encode(outcome.error) } };
}
