/**
 * The input as fingerprinted when the key travels inside it: the key field left out, since the key
 * names the operation and is not part of its payload. Other own keys (`__proto__` included) stay.
 */
export function withoutField(input: unknown, field: string | false): unknown {
  if (field === false || !isRecord(input) || !Object.hasOwn(input, field)) return input;
  const { [field]: _key, ...rest } = input;
  return rest;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
