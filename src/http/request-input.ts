/**
 * What a request is fingerprinted by: its method, its path (pathname and query) and its body.
 * A JSON body (application/json or any +json type) as its parsed value, so that key order and
 * whitespace do not matter (the core's canonical encoding sorts keys); any other body, or JSON
 * that does not parse, as its bytes (the core encodes a Uint8Array as its bytes).
 */
export interface RequestInput {
  method: string;
  path: string;
  body: unknown;
}

const JSON_TYPE = /^application\/(?:[^;\s]*\+)?json\s*(?:;|$)/i;

export function isJsonContentType(contentType: string | null | undefined): boolean {
  return typeof contentType === 'string' && JSON_TYPE.test(contentType.trim());
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The fingerprinted input of a request whose body was read as bytes. */
export function requestInput(method: string, path: string, contentType: string | null | undefined, bytes: Uint8Array): RequestInput {
  return { method: method.toUpperCase(), path, body: isJsonContentType(contentType) ? parsedOrBytes(bytes) : bytes };
}

/** The fingerprinted input of a request whose body a framework already parsed as JSON. */
export function parsedRequestInput(method: string, path: string, body: unknown): RequestInput {
  return { method: method.toUpperCase(), path, body };
}

function parsedOrBytes(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) return bytes;
  try {
    const text = utf8.decode(bytes);
    // Two bodies that parse alike only because parsing lost something must not share a fingerprint.
    return parsesExactly(text) ? (JSON.parse(text) as unknown) : bytes;
  } catch {
    return bytes;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * Whether every number in a JSON text survives JSON.parse: at most 15 significant digits (past
 * that, 12345678901234567890 and ...891 become one double) and within a double's normal range
 * (1e400 and 2e400 both become Infinity, 1e-400 and 2e-400 both 0). Digits inside strings are looked at too: such a body is then
 * fingerprinted by its bytes, which is only stricter.
 */
function parsesExactly(text: string): boolean {
  for (const [token] of text.matchAll(NUMBER)) {
    const mantissa = token.replace(/^-/, '').replace(/[eE].*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    const value = Math.abs(Number(token));
    // Too many digits, overflow to Infinity, or underflow to 0 or to a subnormal (fewer digits kept).
    if (mantissa.length > 15 || !Number.isFinite(value) || (mantissa !== '' && value < 2.2250738585072014e-308)) return false;
  }
  return true;
}

/** The path of a URL as fingerprinted: pathname and query, as the client sent them. */
export function pathOf(url: string): string {
  const parsed = new URL(url, 'http://localhost');
  return parsed.pathname + parsed.search;
}
