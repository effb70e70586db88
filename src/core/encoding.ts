/**
 * A JSON-safe tree form of JavaScript values, shared by the serializer (round trip) and the
 * fingerprint (canonical: key order and Map/Set order do not matter).
 *
 * Values JSON cannot hold become `{ "$oncely": tag, "v": ... }`; a plain object that itself has a
 * `$oncely` property is wrapped as tag "object" so that decoding is never ambiguous.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const TAG = '$oncely';
const MAX_DEPTH = 256;

export interface EncodeOptions {
  /** Sort object keys, Map entries and Set elements (fingerprints). */
  canonical?: boolean;
  /** Leave out object properties whose value is undefined (fingerprints: `{a: undefined}` = `{}`). */
  dropUndefinedProperties?: boolean;
}

export class UnsupportedValueError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedValueError';
  }
}

function tagged(tag: string, v?: Json): Json {
  return v === undefined ? { [TAG]: tag } : { [TAG]: tag, v };
}

/**
 * Sets an own enumerable property. Plain assignment would treat "__proto__" as the prototype
 * setter and drop the key (and change the object's prototype): JSON input can carry such a key.
 */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * setOwn for a fresh plain object (`{}`) that does not have `key` yet: plain assignment creates the
 * very same own property, and costs far less, whenever Object.prototype has no such key (no setter
 * like `__proto__` to run, polluted or not). Otherwise setOwn.
 */
function setFresh(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key in Object.prototype) setOwn(target, key, value);
  else target[key] = value;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === null || proto === Object.prototype;
}

/**
 * Map entries and Set elements in the order of their JSON text (UTF-16 code units). Each entry is
 * stringified once, not at every comparison (a 20k-element Set took 9x the time of the Array).
 */
function sortByJson(items: Json[]): Json[] {
  const keyed = items.map((item) => ({ text: JSON.stringify(item), item }));
  keyed.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  return keyed.map(({ item }) => item);
}

// Looked up, not imported: this module is shared with the browser-side client helpers.
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
// Arguments per String.fromCharCode call: well below every engine's argument limit.
const CHUNK = 0x8000;

// Native base64 of Web-standard engines (Deno 2.5+, Bun, workerd; not Node 20-24), looked up too.
const nativeToBase64 = (Uint8Array.prototype as { toBase64?: (this: Uint8Array) => string }).toBase64;

/**
 * Buffer where the global exists (Node, Bun, Deno): btoa is 2-30x slower, the engines' toBase64
 * between 0.35x and 1.8x of Buffer by size and runtime (bench/web-apis.ts). Then toBase64 for the
 * runtimes without Buffer; btoa last.
 */
export function bytesToBase64(bytes: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  if (nativeToBase64) return nativeToBase64.call(bytes);
  return bytesToBase64Web(bytes);
}

const utf8 = new TextEncoder();

/**
 * The UTF-8 byte length of a text. Buffer.byteLength where the global exists: 2-20x faster than
 * encoding the text (bench/web-apis.ts); TextEncoder elsewhere (workerd without nodejs_compat,
 * browsers). Lone surrogates count 3 bytes in both (encoded as U+FFFD).
 */
export function utf8ByteLength(text: string): number {
  return NodeBuffer ? NodeBuffer.byteLength(text, 'utf8') : utf8.encode(text).length;
}

/** The Web-standard path (browsers, Workers): btoa over a binary string built in chunks. */
export function bytesToBase64Web(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  return btoa(binary);
}

export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function encode(value: unknown, options: EncodeOptions = {}): Json {
  return walk(value, 0, { canonical: Boolean(options.canonical), dropUndefined: Boolean(options.dropUndefinedProperties), path: [] });
}

/**
 * One encode() call's settings and the objects being walked (the path from the root, for the
 * circular check). Module-level functions with this passed along, instead of closures and a Set
 * made per call: encode runs twice per request (fingerprint, stored outcome).
 */
interface Walk {
  canonical: boolean;
  dropUndefined: boolean;
  /** The objects from the root to the current one: a value met again on its own path is circular. */
  path: object[];
}

function walk(v: unknown, depth: number, w: Walk): Json {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (Number.isNaN(v)) return tagged('number', 'NaN');
      if (v === Infinity) return tagged('number', 'Infinity');
      if (v === -Infinity) return tagged('number', '-Infinity');
      if (Object.is(v, -0)) return tagged('number', '-0');
      return v;
    case 'bigint':
      return tagged('bigint', v.toString());
    case 'undefined':
      return tagged('undefined');
    case 'function':
    case 'symbol':
      throw new UnsupportedValueError(`Cannot serialize a ${typeof v}.`);
  }
  if (v === null) return null;
  const obj = v as object;
  if (depth > MAX_DEPTH) throw new UnsupportedValueError(`Values nested deeper than ${MAX_DEPTH} levels are not supported.`);
  if (w.path.includes(obj)) throw new UnsupportedValueError('Cannot serialize a value with a circular reference.');
  w.path.push(obj);
  try {
    return walkObject(obj, depth + 1, w);
  } finally {
    w.path.pop();
  }
}

const byKey = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Sorts entries by key (UTF-16 code units), in place. Keys are distinct, so every correct sort gives
 * the same order; small objects (most inputs) by insertion, since Array.prototype.sort allocates
 * work space on each call.
 */
function sortByKey(entries: [string, unknown][]): void {
  if (entries.length > 16) {
    entries.sort(byKey);
    return;
  }
  for (let i = 1; i < entries.length; i++) {
    const entry = entries[i]!;
    let j = i - 1;
    while (j >= 0 && entries[j]![0] > entry[0]) {
      entries[j + 1] = entries[j]!;
      j--;
    }
    entries[j + 1] = entry;
  }
}

/** `entries` is a fresh array of the caller's (Object.entries): sorted in place. */
function walkEntries(entries: [string, unknown][], depth: number, w: Walk): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  // Keys are distinct, so sorting before leaving out functions and symbols orders the rest alike.
  if (w.canonical) sortByKey(entries);
  for (let i = 0; i < entries.length; i++) {
    const [k, val] = entries[i]!;
    if (typeof val === 'function' || typeof val === 'symbol') continue;
    if (val === undefined && w.dropUndefined) continue;
    setFresh(out, k, walk(val, depth, w));
  }
  return out;
}

// A plain object whose own keys include the tag is wrapped, so decoding never mistakes it for a tag.
function walkPlain(entries: [string, unknown][], depth: number, w: Walk): Json {
  const out = walkEntries(entries, depth, w);
  return Object.hasOwn(out, TAG) ? tagged('object', out) : out;
}

function walkObject(obj: object, depth: number, w: Walk): Json {
  if (Array.isArray(obj)) {
    const out: Json[] = [];
    for (let i = 0; i < obj.length; i++) out.push(walk(obj[i], depth, w));
    return out;
  }
  if (obj instanceof Date) return tagged('date', Number.isNaN(obj.getTime()) ? null : obj.toISOString());
  if (obj instanceof Map) {
    const entries: Json[] = [...obj.entries()].map(([k, val]) => [walk(k, depth, w), walk(val, depth, w)]);
    return tagged('map', w.canonical ? sortByJson(entries) : entries);
  }
  if (obj instanceof Set) {
    const items = [...obj].map((item) => walk(item, depth, w));
    return tagged('set', w.canonical ? sortByJson(items) : items);
  }
  if (obj instanceof RegExp) return tagged('regexp', [obj.source, obj.flags]);
  if (obj instanceof URL) return tagged('url', obj.href);
  if (obj instanceof Uint8Array) return tagged('bytes', bytesToBase64(obj));
  if (obj instanceof Error) {
    const props = walkPlain(
      Object.entries(obj).filter(([k]) => k !== 'cause' && k !== 'stack' && k !== 'message'),
      depth,
      w,
    );
    // Through walk: a user's error may carry any value as its name or message, not only text.
    const body: { [key: string]: Json } = { name: walk(obj.name, depth, w), message: walk(obj.message, depth, w), props };
    if ('cause' in obj && obj.cause !== undefined) body.cause = walk(obj.cause, depth, w);
    return tagged('error', body);
  }
  if (!isPlainObject(obj) && typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
    // Decimal, ObjectId and friends: stored as what they say their JSON form is.
    return walk((obj as { toJSON(): unknown }).toJSON(), depth, w);
  }
  return walkPlain(Object.entries(obj), depth, w);
}

/**
 * decode() of a tree fresh from JSON.parse that nobody else holds: its plain objects and arrays are
 * kept, their values decoded in place, instead of copied. The same value comes out: JSON.parse made
 * every property an own, writable, enumerable data property (`__proto__` included, so assigning it
 * sets the property, not the prototype), in the order decode() would copy them.
 */
export function decodeParsed(tree: Json): unknown {
  if (tree === null || typeof tree !== 'object') return tree;
  if (Array.isArray(tree)) {
    for (let i = 0; i < tree.length; i++) tree[i] = decodeParsed(tree[i]!) as Json;
    return tree;
  }
  if (typeof tree[TAG] === 'string') return decode(tree);
  for (const k of Object.keys(tree)) {
    const v = tree[k]!;
    if (v !== null && typeof v === 'object') tree[k] = decodeParsed(v) as Json;
  }
  return tree;
}

export function decode(tree: Json): unknown {
  if (tree === null || typeof tree !== 'object') return tree;
  if (Array.isArray(tree)) return tree.map(decode);
  const tag = tree[TAG];
  if (typeof tag !== 'string') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(tree)) setFresh(out, k, decode(v));
    return out;
  }
  const v = tree.v as Json;
  switch (tag) {
    case 'undefined':
      return undefined;
    case 'number':
      return v === '-0' ? -0 : Number(v);
    case 'bigint':
      return BigInt(v as string);
    case 'date':
      return new Date(v === null ? Number.NaN : (v as string));
    case 'map':
      return new Map((v as Json[][]).map(([k, val]) => [decode(k as Json), decode(val as Json)]));
    case 'set':
      return new Set((v as Json[]).map(decode));
    case 'regexp':
      return new RegExp((v as string[])[0] as string, (v as string[])[1]);
    case 'url':
      return new URL(v as string);
    case 'bytes':
      return base64ToBytes(v as string);
    case 'error': {
      const body = v as { name: Json; message: Json; props: Json; cause?: Json };
      const message = decode(body.message as Json);
      const error = new Error(typeof message === 'string' ? message : '', 'cause' in body ? { cause: decode(body.cause as Json) } : undefined);
      if (typeof message !== 'string') Object.defineProperty(error, 'message', { value: message, enumerable: false, writable: true, configurable: true });
      for (const [k, val] of Object.entries(decode(body.props) as object)) setOwn(error as unknown as Record<string, unknown>, k, val);
      // `name` last: Object.assign of props may not override the prototype's.
      Object.defineProperty(error, 'name', { value: decode(body.name as Json), enumerable: false, writable: true, configurable: true });
      delete (error as { stack?: string }).stack;
      return error;
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(v as { [key: string]: Json })) setFresh(out, k, decode(val));
      return out;
    }
    default:
      throw new UnsupportedValueError(`Unknown stored value tag "${tag}".`);
  }
}

/** The canonical JSON text of a value: equal for inputs that fingerprint equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(encode(value, { canonical: true, dropUndefinedProperties: true }));
}
