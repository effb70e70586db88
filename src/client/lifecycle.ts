import { canonicalJson } from '../core/encoding.js';
import { type FailureKind, classifyFailure } from './failure.js';
import { type KeyGenerator, createIdempotencyKey } from './key.js';

export interface KeyLifecycleOptions {
  /** Default: UUID v4 from Web Crypto. */
  generateKey?: KeyGenerator;
  /** Default: classifyFailure (network errors, 409, 429, 5xx are retryable). */
  classify?: (error: unknown) => FailureKind;
}

/**
 * One key per logical operation. `keyFor(input)` hands out the pending key for as long as the same
 * input is retried or re-submitted (automatic retries, a manual re-submit after a timeout, a resumed
 * paused mutation), and a new key when the input changes. `succeeded()` and a definitive `failed()`
 * spend the key, so the next submission is a new operation.
 */
export class KeyLifecycle {
  private pending: { key: string; input: string } | undefined;
  private readonly generateKey: KeyGenerator;
  private readonly classify: (error: unknown) => FailureKind;

  constructor(options: KeyLifecycleOptions = {}) {
    this.generateKey = options.generateKey ?? createIdempotencyKey;
    this.classify = options.classify ?? classifyFailure;
  }

  /** The key for this input: the pending one if the input is the same, else a new one. */
  keyFor(input: unknown): string {
    const canonical = canonicalJson(input);
    if (this.pending?.input !== canonical) this.pending = { key: this.generateKey(), input: canonical };
    return this.pending.key;
  }

  /** The pending key, if an operation is unsettled. */
  get currentKey(): string | undefined {
    return this.pending?.key;
  }

  /** The operation got its answer: the next submission gets a new key. */
  succeeded(): void {
    this.pending = undefined;
  }

  /** Keeps the key for a retryable failure, spends it for a definitive one. Returns which it was. */
  failed(error: unknown): FailureKind {
    const kind = this.classify(error);
    if (kind === 'definitive') this.pending = undefined;
    return kind;
  }

  /** Forget the pending key (e.g. the user abandoned the form). */
  reset(): void {
    this.pending = undefined;
  }

  /**
   * Runs `send` with the key for `input` and settles the lifecycle by its result. `key` forces the
   * key of an attempt already under way (a retry of a call that took its key earlier): the
   * lifecycle may have moved on since, when a sibling call of the same operation got the answer.
   */
  async run<T>(input: unknown, send: (key: string) => Promise<T>, key: string = this.keyFor(input)): Promise<T> {
    try {
      const result = await send(key);
      if (this.pending?.key === key) this.succeeded();
      return result;
    } catch (error) {
      if (this.pending?.key === key) this.failed(error);
      throw error;
    }
  }
}

export function createKeyLifecycle(options?: KeyLifecycleOptions): KeyLifecycle {
  return new KeyLifecycle(options);
}
