import { decodeParsed, encode, utf8ByteLength } from './encoding.js';
import { ResponseNotStorableError } from './errors.js';
import type { Outcome } from './outcome.js';
import type { IdempotencyRecord, RecordScope } from './record.js';
import type { Serializer } from './serializer.js';

/** Encrypts or redacts stored outcomes at rest. Applied after serialization, undone before replay. */
export interface ResponseCodec {
  encode(text: string, scope: RecordScope): string | Promise<string>;
  decode(text: string, scope: RecordScope): string | Promise<string>;
}

// Stored outcomes start with one of these: a serialized value, or an error in oncely's encoding.
const VALUE_PREFIX = 'v';
const ERROR_PREFIX = 'e';
// Optionally before them (telemetry on): the original execution's trace context and a newline.
// Kept inside the stored text, so no column (and no migration) is needed; records without it read as before.
const CONTEXT_PREFIX = 'c';
const NOT_STORABLE = 'IDEMPOTENCY_RESPONSE_NOT_STORABLE';
// What may be stored as a trace context: printable ASCII without spaces (a traceparent is 55 characters).
const STORABLE_CONTEXT = /^[\x21-\x7e]{1,512}$/;

/** A decoded stored outcome, and the trace context of the execution that stored it, if it kept one. */
export interface DecodedOutcome {
  outcome: Outcome;
  traceContext?: string;
}

/**
 * The text an outcome is stored as, and back. Values go through the (pluggable) serializer; errors
 * always through oncely's own encoding, which keeps their code, own properties and cause whatever
 * serializer is configured.
 */
export class StoredOutcomes {
  constructor(
    private readonly serializer: Serializer,
    private readonly codec: ResponseCodec | undefined,
    private readonly maxBytes: number,
  ) {}

  /**
   * Never lets a retry run the work again because its outcome could not be stored: an outcome too
   * large or not serializable is stored as a RESPONSE_NOT_STORABLE error instead.
   */
  encode(scope: RecordScope, outcome: Outcome, traceContext?: string): Promise<string> {
    // Inside the codec: an encrypting codec hides it like the outcome.
    const context = traceContext !== undefined && STORABLE_CONTEXT.test(traceContext) ? `${CONTEXT_PREFIX}${traceContext}\n` : '';
    if (this.codec) return this.encodeCoded(scope, outcome, context);
    // Without a codec every step is synchronous: one settled promise instead of one per layer.
    try {
      try {
        return Promise.resolve(this.encodeText(this.serialize(outcome, context), this.maxBytes));
      } catch (error) {
        return Promise.resolve(this.encodeText(this.serialize({ ok: false, error: notStorable(error) }, context), Number.POSITIVE_INFINITY));
      }
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async encodeCoded(scope: RecordScope, outcome: Outcome, context: string): Promise<string> {
    try {
      return await this.encodeWithin(scope, outcome, context, this.maxBytes);
    } catch (error) {
      return this.encodeWithin(scope, { ok: false, error: notStorable(error) }, context, Number.POSITIVE_INFINITY);
    }
  }

  decode(record: IdempotencyRecord): Promise<Outcome> {
    return this.decodeStored(record).then(outcomeOf);
  }

  /**
   * A step's result, stored like an outcome's value (serializer, then codec). Unlike an outcome it
   * is never replaced by an error: a result that cannot be stored throws ResponseNotStorableError,
   * so the step is not recorded (a database step rolls back) and a retry runs it again.
   */
  async encodeValue(scope: RecordScope, value: unknown): Promise<string> {
    try {
      return await this.encodeWithin(scope, { ok: true, value }, '', this.maxBytes);
    } catch (error) {
      throw error instanceof ResponseNotStorableError ? error : new ResponseNotStorableError(String((error as Error)?.message ?? error));
    }
  }

  /** A step's result back, as encodeValue stored it. */
  async decodeValue(scope: RecordScope, text: string): Promise<unknown> {
    const { outcome } = await this.decodeText(text, scope);
    if (!outcome.ok) throw new Error('oncely: a recorded step holds an error instead of a result (written by another version, or corrupted).');
    return outcome.value;
  }

  /** The outcome, and the trace context stored with it (records written without telemetry have none). */
  decodeStored(record: IdempotencyRecord): Promise<DecodedOutcome> {
    return this.decodeText(record.response ?? '', record);
  }

  private decodeText(text: string, scope: RecordScope): Promise<DecodedOutcome> {
    if (this.codec) return this.decodeCoded(text, scope);
    // Without a codec every step is synchronous: one settled promise instead of one per layer.
    try {
      return Promise.resolve(this.parse(text));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async decodeCoded(text: string, scope: RecordScope): Promise<DecodedOutcome> {
    return this.parse(await this.codec!.decode(text, scope));
  }

  /** The outcome in a stored text, once the codec (if any) undid its encoding. */
  private parse(decoded: string): DecodedOutcome {
    let serialized = decoded;
    let traceContext: string | undefined;
    if (serialized.startsWith(CONTEXT_PREFIX)) {
      const end = serialized.indexOf('\n');
      if (end < 0) throw new Error('oncely: a stored outcome has an unknown format (written by another version, or corrupted).');
      traceContext = serialized.slice(1, end);
      serialized = serialized.slice(end + 1);
    }
    const body = serialized.slice(1);
    let outcome: Outcome;
    if (serialized.startsWith(VALUE_PREFIX)) outcome = { ok: true, value: this.serializer.deserialize(body) };
    else if (serialized.startsWith(ERROR_PREFIX)) outcome = { ok: false, error: decodeParsed(JSON.parse(body)) };
    else throw new Error('oncely: a stored outcome has an unknown format (written by another version, or corrupted).');
    if (!outcome.ok && (outcome.error as { code?: unknown })?.code === NOT_STORABLE) {
      outcome = { ok: false, error: new ResponseNotStorableError((outcome.error as { reason: string }).reason) };
    }
    return traceContext === undefined ? { outcome } : { outcome, traceContext };
  }

  private async encodeWithin(scope: RecordScope, outcome: Outcome, context: string, maxBytes: number): Promise<string> {
    const serialized = this.serialize(outcome, context);
    return this.encodeText(this.codec ? await this.codec.encode(serialized, scope) : serialized, maxBytes);
  }

  private serialize(outcome: Outcome, context: string): string {
    return context + (outcome.ok ? `${VALUE_PREFIX}${this.serializer.serialize(outcome.value)}` : `${ERROR_PREFIX}${JSON.stringify(encode(outcome.error))}`);
  }

  /** The text as stored, refused when over `maxBytes`. */
  private encodeText(text: string, maxBytes: number): string {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: below that bound nothing needs counting.
    if (text.length * 3 <= maxBytes) return text;
    const size = utf8ByteLength(text);
    if (size > maxBytes) throw new ResponseNotStorableError(`it is ${size} bytes, over the limit of ${maxBytes}`);
    return text;
  }
}

function notStorable(error: unknown): ResponseNotStorableError {
  return error instanceof ResponseNotStorableError ? error : new ResponseNotStorableError(String((error as Error)?.message ?? error));
}

function outcomeOf(decoded: DecodedOutcome): Outcome {
  return decoded.outcome;
}
