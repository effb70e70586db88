import { KeyInvalidError } from '../core/errors.js';

/**
 * The key in an `Idempotency-Key` header value (draft-ietf-httpapi-idempotency-key-header-07):
 * an RFC 8941 Item whose bare item is a String (`"abc"`, with `\"` and `\\` escapes, parameters
 * allowed and ignored), or the bare form clients such as Stripe's send (`abc`: the whole value).
 * `"abc"` and `abc` are the same key. Only the syntax is checked here; the core's key rules
 * (length, printable ASCII, no outer spaces) apply to what this returns.
 */
export function parseKeyHeader(value: string, header = 'Idempotency-Key'): string {
  // RFC 8941 4.2: leading and trailing SP are discarded (fetch already trims HTAB and SP).
  const text = trimSpaces(value);
  if (!text.startsWith('"')) return text;
  let key = '';
  let at = 1;
  for (;;) {
    if (at >= text.length) throw malformed(header, 'the quoted string is not closed');
    const char = text.charCodeAt(at);
    if (char === 0x5c) {
      const next = text[at + 1];
      if (next !== '"' && next !== '\\') throw malformed(header, 'a backslash may only escape " or \\');
      key += next;
      at += 2;
      continue;
    }
    if (char === 0x22) break;
    if (char < 0x20 || char > 0x7e) throw malformed(header, 'a quoted key may contain printable ASCII only');
    key += text[at];
    at += 1;
  }
  const rest = text.slice(at + 1);
  if (rest !== '' && !PARAMETERS.test(rest)) throw malformed(header, 'only parameters (;name=value) may follow the quoted key');
  return key;
}

function trimSpaces(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && value.charCodeAt(start) === 0x20) start += 1;
  while (end > start && value.charCodeAt(end - 1) === 0x20) end -= 1;
  return value.slice(start, end);
}

// RFC 8941 parameters: *( ";" *SP key [ "=" bare-item ] ), bare-item being an integer, decimal,
// string, token, byte sequence or boolean.
const BARE_ITEM = String.raw`(?:-?[0-9]{1,12}\.[0-9]{1,3}|-?[0-9]{1,15}|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"|[A-Za-z*][!#$%&'*+\-.^_\x60|~0-9A-Za-z:/]*|:[A-Za-z0-9+/=]*:|\?[01])`;
const PARAMETER = String.raw`;\x20*[a-z*][a-z0-9_\-.*]*(?:=${BARE_ITEM})?`;
const PARAMETERS = new RegExp(`^(?:${PARAMETER})+$`);

function malformed(header: string, reason: string): KeyInvalidError {
  return new KeyInvalidError(`The ${header} header must be a Structured Field string ("key") or a bare key: ${reason}.`);
}
