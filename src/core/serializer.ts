import { decodeParsed, encode } from './encoding.js';

/**
 * Turns the values of successful outcomes into strings and back. Swap it for superjson & co. with
 * `serializer`. (Errors are stored by oncely's own encoding, whatever the serializer.)
 */
export interface Serializer {
  serialize(value: unknown): string;
  deserialize(text: string): unknown;
}

/**
 * The default: JSON with tags for what JSON loses. Date, BigInt, Map, Set, RegExp, URL, Uint8Array,
 * NaN/Infinity/-0, undefined (distinct from null) and Error (name, message, own properties, cause;
 * never the stack) survive a round trip. Class instances come back as plain objects of their own
 * enumerable properties, or as their toJSON() result when they have one.
 */
export const defaultSerializer: Serializer = {
  serialize: (value) => JSON.stringify(encode(value)),
  deserialize: (text) => decodeParsed(JSON.parse(text)),
};
