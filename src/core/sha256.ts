import * as nodeCrypto from 'node:crypto';

/**
 * SHA-256 of a string (UTF-8), in one call. crypto.hash (Node 20.12+) is the one-shot form and
 * costs about half of createHash().update().digest() on the short texts hashed per request
 * (fingerprints, derived keys, Redis key names); the digest is the same. Looked up on the module
 * namespace so that a runtime without it falls back instead of failing to load.
 *
 * node:crypto stays (the core hashes synchronously; WebCrypto's digest is async and took ~44 µs
 * awaited against ~0.3 µs here, bench/web-apis.ts). Node, Bun and Deno have it built in; workerd
 * needs the `nodejs_compat` compatibility flag, the one Node API the core needs there.
 */
const oneShot = (nodeCrypto as { hash?: typeof nodeCrypto.hash }).hash;

export function sha256(text: string, encoding: 'hex' | 'base64url'): string {
  return oneShot ? oneShot('sha256', text, encoding) : nodeCrypto.createHash('sha256').update(text).digest(encoding);
}

export function sha256Bytes(text: string): Buffer {
  return oneShot ? oneShot('sha256', text, 'buffer') : nodeCrypto.createHash('sha256').update(text).digest();
}
