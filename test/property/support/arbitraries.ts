/**
 * Adversarial generators for the differential property test: scopes (tenants, operations, keys)
 * that differ from each other only in ways a database or an encoding might erase, and payloads
 * that a serializer or a fingerprint might get wrong.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { GLOBAL_TENANT, type Tenant } from '../../../src/core/engine.js';
import { encodeScopePart } from '../../../src/core/scope.js';

export const LEASE = 60_000;
export const RETENTION = 3_600_000;

/** The stored form of long tenants/operations before issue 11 (fitScopePart in the engine). */
export function legacyScopePart(value: string): string {
  if (value.length <= 191) return value;
  return `${value.slice(0, 126)}#${createHash('sha256').update(value).digest('hex')}`;
}

// ---------------------------------------------------------------------------------------------
// Scope parts

/** Characters that encodings, drivers and collations are known to mangle or merge. */
const NASTY_CHARS = ['\0', '\u0001', '\t', '\n', '\u007f', ' ', '#', '\uD800', '\uDC00', '\uFFFD', 'é', 'e\u0301', '😀', 'ß', 'İ', '%', '_', '\\', '"', "'", '{', '}'];
const char = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_CHARS) },
  { weight: 3, arbitrary: fc.constantFrom('a', 'b', 'A', 'B', '1') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

/** 200-400 characters with '#' in them: stored in shortened form (prefix # digest). */
const longPart = fc
  .tuple(fc.constantFrom('t', 'acme-corporation-', 'op.'), fc.string({ unit: fc.constantFrom('a', 'b', '#', '-', 'A'), minLength: 200, maxLength: 400 }))
  .map(([head, body]) => head + body);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const HAS_LONE_SURROGATE = new RegExp(LONE_SURROGATE.source);

/** What a UTF-8 driver makes of a string: lone surrogates become U+FFFD. */
function toWellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * Ways to make a name that a store could confuse with `s` (every one must get records of its own):
 * padding, case, Unicode normalization, what UTF-8 drivers do to lone surrogates, NUL, the stored
 * (shortened) forms of long names, look-alikes of those forms and the length boundaries.
 */
export const TWINS = {
  pad: (s: string) => `${s} `,
  pad2: (s: string) => `${s}  `,
  lead: (s: string) => ` ${s}`,
  tab: (s: string) => `${s}\t`,
  unpad: (s: string) => s.replace(/ +$/, ''),
  upper: (s: string) => s.toUpperCase(),
  lower: (s: string) => s.toLowerCase(),
  capital: capitalize,
  nfd: (s: string) => s.normalize('NFD'),
  nfc: (s: string) => s.normalize('NFC'),
  replacement: (s: string) => (HAS_LONE_SURROGATE.test(s) ? toWellFormed(s) : `${s}\uFFFD`),
  lone: (s: string) => (s.includes('\uFFFD') ? s.replace('\uFFFD', '\uD800') : `${s}\uD800`),
  nul: (s: string) => `${s}\0`,
  stripNul: (s: string) => (s.includes('\0') ? s.replaceAll('\0', '') : `a\0${s}`),
  nulToSpace: (s: string) => s.replaceAll('\0', ' '),
  legacyForm: legacyScopePart,
  storedForm: encodeScopePart,
  storedFormPadded: (s: string) => `${encodeScopePart(s)} `,
  fakeDigest: (s: string) => `${s.slice(0, 126)}#${createHash('sha256').update(s).digest('hex')}`,
  samePrefix: (s: string) => (s.length > 191 ? `${s.slice(0, 150)}Z${s.slice(151)}` : `${s}#${'0'.repeat(64)}`),
  cut191: (s: string) => (s.length > 191 ? s.slice(0, 191) : s.padEnd(191, '#')),
  cut192: (s: string) => (s.length > 192 ? s.slice(0, 192) : s.padEnd(192, '#')),
} satisfies Record<string, (s: string) => string>;
export type Twin = keyof typeof TWINS;
export const TWIN_NAMES = Object.keys(TWINS) as Twin[];

/**
 * Twins that apply to some names only (accents, lone surrogates, U+FFFD, NUL, trailing spaces, long
 * names): when a name has such a twin, it is the likeliest to be merged with it, so it is tried first.
 */
const SPECIFIC_TWINS: [Twin, (s: string) => boolean][] = [
  ['nfd', (s) => s.normalize('NFD') !== s],
  ['nfc', (s) => s.normalize('NFC') !== s],
  ['replacement', (s) => HAS_LONE_SURROGATE.test(s)],
  ['lone', (s) => s.includes('\uFFFD')],
  ['stripNul', (s) => s.includes('\0')],
  ['nulToSpace', (s) => s.includes('\0')],
  ['unpad', (s) => s.endsWith(' ')],
  ['legacyForm', (s) => s.length > 191],
  ['storedForm', (s) => encodeScopePart(s) !== s],
  ['fakeDigest', (s) => s.length > 191],
  ['samePrefix', (s) => s.length > 191],
  ['cut191', (s) => s.length > 191],
];

/** Which twin of `s` a generated step means: `specific` prefers the twins that only `s`-like names have. */
export function twinOf(s: string, choice: { specific: boolean; pick: number }, accept: (v: string) => boolean = (v) => v !== ''): string {
  const changed = (names: Twin[]) => names.filter((t) => TWINS[t](s) !== s && accept(TWINS[t](s)));
  const specific = changed(SPECIFIC_TWINS.filter(([, applies]) => applies(s)).map(([t]) => t));
  const pool = choice.specific && specific.length > 0 ? specific : changed(TWIN_NAMES);
  const twin = pool[choice.pick % Math.max(1, pool.length)];
  return twin ? TWINS[twin](s) : s;
}

const shortAtom = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('acme', 'Acme', 'acme ', 'a\0b', 'a b', '#', 'a#b', 'SS', '{b1}', 'tenant:1') },
  // Unicode that drivers and columns may rewrite: composed/decomposed, lone surrogates, astral, ß.
  { weight: 3, arbitrary: fc.constantFrom('caf\u00e9', 'cafe\u0301', 'Cr\u00e8me', 'i\u0307', '\u00c5ngstr\u00f6m', 'n\u0303', '\uD800', '\uFFFD', 'x\uDC00', 'x\uFFFD', '😀', '\uD83D', 'ß') },
  { weight: 2, arbitrary: fc.string({ unit: char, minLength: 1, maxLength: 6 }) },
);

const twinChoice = fc.record({ specific: fc.boolean(), pick: fc.nat({ max: 30 }) });

/** 1-3 base names, each with 0-2 of its twins: a small pool, so calls collide often. */
function scopePool(atom: fc.Arbitrary<string>, max: number): fc.Arbitrary<string[]> {
  return fc
    .array(fc.tuple(atom, fc.array(twinChoice, { maxLength: 2 })), { minLength: 1, maxLength: 3 })
    .map((groups) => [...new Set(groups.flatMap(([a, twins]) => [a, ...twins.map((t) => twinOf(a, t))]))].slice(0, max));
}

export const tenantPool: fc.Arbitrary<Tenant[]> = fc
  .tuple(scopePool(fc.oneof({ weight: 2, arbitrary: shortAtom }, { weight: 1, arbitrary: longPart }), 6), fc.boolean())
  .map(([names, global]) => (global ? [...names, GLOBAL_TENANT] : names));

export const operationPool: fc.Arbitrary<string[]> = scopePool(
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('createOrder', 'Mutation.pay', 'pay', 'orders.create ', 'op\0', 'op\uD800', 'op\uFFFD', 'r\u00e9sum\u00e9.create') },
    { weight: 1, arbitrary: shortAtom },
    { weight: 1, arbitrary: longPart },
  ),
  4,
);

// Keys: valid per src/core/key.ts (1-255 printable ASCII, no leading/trailing space).
const keyChar = fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }).filter((c) => c >= ' ' && c <= '~');
export const validKey = (k: string) => k.length >= 1 && k.length <= 255 && /^[\x20-\x7e]*$/.test(k) && !k.startsWith(' ') && !k.endsWith(' ');
const keyAtom = fc.oneof(
  fc.constantFrom('k1', 'order-42', 'a b', '#', '{b0}', '%_', "'\"\\", 'k'.repeat(255), `${'K'.repeat(254)}k`),
  fc.string({ unit: keyChar, minLength: 1, maxLength: 12 }).filter(validKey),
);
export const keyPool: fc.Arbitrary<string[]> = fc
  .array(fc.tuple(keyAtom, fc.array(twinChoice, { maxLength: 2 })), { minLength: 1, maxLength: 2 })
  .map((groups) => [...new Set(groups.flatMap(([a, twins]) => [a, ...twins.map((t) => twinOf(a, t, validKey))]))].slice(0, 4));

// ---------------------------------------------------------------------------------------------
// Payloads

/** An object with these own properties, `__proto__` included (as JSON.parse makes them). */
export function ownObject(entries: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

const objectKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', '$oncely', 'v', 'toString', 'hasOwnProperty', '0', '') },
  { weight: 2, arbitrary: fc.string({ unit: char, maxLength: 4 }) },
);

const leaf = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, undefined, 0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, true, false, '', '\0', '\uD800', '\uFFFD', '__proto__', 1, '1', 1n) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.string({ unit: char, maxLength: 6 }) },
  { weight: 1, arbitrary: fc.bigInt() },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: false }) },
  { weight: 1, arbitrary: fc.constant(new Date(Number.NaN)) },
);

const { value: generatedValue } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object'), tie('map'), tie('set')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.array(fc.tuple(objectKey, tie('value')), { maxLength: 3 }).map(ownObject),
  map: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((entries) => new Map(entries)),
  set: fc.array(tie('value'), { maxLength: 3 }).map((items) => new Set(items)),
}));

/** Payloads known to be hard, most of them near-twins of another one in the list. */
const CURATED: unknown[] = [
  {},
  JSON.parse('{"__proto__":{"p":1}}'),
  JSON.parse('{"__proto__":{}}'),
  JSON.parse('{"__proto__":null}'),
  JSON.parse('{"constructor":{"prototype":{"x":1}}}'),
  JSON.parse('{"a":1,"__proto__":{"a":2}}'),
  { a: 1 },
  { a: 1, b: undefined },
  { $oncely: 'date', v: '2026-01-01T00:00:00.000Z' },
  new Date('2026-01-01T00:00:00.000Z'),
  '2026-01-01T00:00:00.000Z',
  1n,
  1,
  '1',
  0,
  -0,
  null,
  undefined,
  [null],
  [undefined],
  new Map([['a', 1]]),
  { a: 1 },
  new Set([1, 2]),
  [1, 2],
  new Map([[JSON.parse('{"__proto__":{"p":1}}'), new Set([1n])]]),
  { nested: [[[JSON.parse('{"prototype":{"constructor":1}}')]]] },
];

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);
}

function withOwn(v: unknown, key: string, value: unknown): Record<string, unknown> {
  return ownObject([...(isPlain(v) ? Object.entries(v) : [['value', v] as [string, unknown]]), [key, value]]);
}

/** A Map key as an object key: `String()` throws on objects without a prototype (a generated key can be one). */
function keyText(k: unknown): string {
  return typeof k === 'object' && k !== null ? Object.prototype.toString.call(k) : String(k);
}

/**
 * Inputs that differ from `v` only in ways a fingerprint could miss (own `__proto__`/`constructor`
 * keys, tag look-alikes, -0, BigInt vs number, Date vs its ISO text, Map vs object, Set vs array,
 * undefined vs null) or that are equal to it as documented (key order, undefined properties).
 */
export const INPUT_TWINS = {
  proto: (v: unknown) => withOwn(v, '__proto__', { p: 1 }),
  protoEmpty: (v: unknown) => withOwn(v, '__proto__', {}),
  protoNull: (v: unknown) => withOwn(v, '__proto__', null),
  constructorKey: (v: unknown) => withOwn(v, 'constructor', { prototype: { polluted: true } }),
  prototypeKey: (v: unknown) => withOwn(v, 'prototype', {}),
  dropOwnKeys: (v: unknown) => (isPlain(v) ? ownObject(Object.entries(v).slice(0, -1)) : {}),
  reorder: (v: unknown) => (isPlain(v) ? ownObject(Object.entries(v).reverse()) : v),
  undefinedProperty: (v: unknown) => withOwn(v, 'extra', undefined),
  tagLookalike: (v: unknown) => (v instanceof Date ? { $oncely: 'date', v: Number.isNaN(v.getTime()) ? null : v.toISOString() } : { $oncely: 'undefined' }),
  // What a JSON transport makes of it (Dates become text, Maps `{}`, BigInts their digits).
  jsonText: (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'null'),
  numeric: (v: unknown) => (typeof v === 'number' ? (Object.is(v, 0) ? -0 : Object.is(v, -0) ? 0 : Number.isInteger(v) ? BigInt(v) : -v) : typeof v === 'bigint' ? Number(v) : -0),
  nullish: (v: unknown) => (v === null ? undefined : v === undefined ? null : [v === undefined ? null : undefined]),
  collection: (v: unknown) => (v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [keyText(k), x])) : v instanceof Set ? [...v] : Array.isArray(v) ? new Set(v) : isPlain(v) ? new Map(Object.entries(v)) : new Set([v])),
} satisfies Record<string, (v: unknown) => unknown>;
export type InputTwin = keyof typeof INPUT_TWINS;
export const INPUT_TWIN_NAMES = Object.keys(INPUT_TWINS) as InputTwin[];

export const payload: fc.Arbitrary<unknown> = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...CURATED) }, { weight: 1, arbitrary: generatedValue });
export const payloadPool: fc.Arbitrary<unknown[]> = fc.array(payload, { minLength: 1, maxLength: 3 });
