import type { RecordScope } from './record.js';
import { sha256 } from './sha256.js';

/** Stable downstream key: same scope and purpose, same key, on every retry and re-claim. */
export function deriveDownstreamKey(scope: RecordScope, purpose: string): string {
  const hash = sha256(JSON.stringify([scope.tenant, scope.operation, scope.key, purpose]), 'base64url');
  return `oncely_${hash.slice(0, 40)}`;
}
