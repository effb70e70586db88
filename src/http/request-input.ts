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
    return JSON.parse(utf8.decode(bytes)) as unknown;
  } catch {
    return bytes;
  }
}

/** The path of a URL as fingerprinted: pathname and query, as the client sent them. */
export function pathOf(url: string): string {
  const parsed = new URL(url, 'http://localhost');
  return parsed.pathname + parsed.search;
}
