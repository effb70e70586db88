import { createHash } from 'node:crypto';
import type { RecordScope } from './record.js';

/** Stable downstream key: same scope and purpose, same key, on every retry and re-claim. */
export function deriveDownstreamKey(scope: RecordScope, purpose: string): string {
  const hash = createHash('sha256').update(JSON.stringify([scope.tenant, scope.operation, scope.key, purpose])).digest('base64url');
  return `oncely_${hash.slice(0, 40)}`;
}
