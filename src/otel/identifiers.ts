import { createHash } from 'node:crypto';

/** How tenants and keys appear in span attributes. */
export type IdentifierHashing = boolean | ((value: string) => string);

/**
 * Tenants and keys are hashed by default: traces often leave the service (a vendor, a shared
 * collector), and a key or tenant id can be personal or guessable. A SHA-256 prefix still lets
 * spans of the same key be found together; it hides nothing from someone who can guess the value
 * (pass a function, e.g. an HMAC with a secret, for that), and `false` records them as they are.
 */
export function identifierFormat(hashing: IdentifierHashing | undefined): (value: string) => string {
  if (hashing === false) return (value) => value;
  if (typeof hashing === 'function') return hashing;
  return (value) => `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 32)}`;
}
