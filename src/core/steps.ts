import { storeCall } from './claim.js';
import { ConfigurationError, IdempotencyError, StepMismatchError, StoreUnavailableError } from './errors.js';
import type { CallEventBody } from './events.js';
import { leaseLostError } from './lease.js';
import type { RecordScope } from './record.js';
import type { StoredOutcomes } from './stored-outcome.js';
import { type IdempotencyStore, type StepRecord, type TransactionScope, isTransactionalStore } from './store.js';

/** What an external step's function is given. */
export interface ExternalStep {
  /** `deriveKey(name)`: pass it to the provider as its idempotency key, so a re-run is harmless. */
  key: string;
}

/** The two step calls of a held claim (ClaimContext.step / databaseStep). */
export interface StepCalls<Tx> {
  step<T>(name: string, fn: (step: ExternalStep) => Promise<T> | T): Promise<T>;
  databaseStep<T>(name: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/** What the step runner needs from its engine and claim. */
export interface StepKit {
  /** The store the steps are loaded from and recorded in (with `transaction` for database steps). */
  store: IdempotencyStore;
  outcomes: StoredOutcomes;
  clock: { now(): number };
  /** Lease length in ms: each recorded step renews the lease by it. */
  lease: number;
  scope: RecordScope;
  token: string;
  /** True when the claim took over an earlier record (fence > 1): only then can steps be recorded already. */
  reclaimed: boolean;
  deriveKey(purpose: string): string;
  /** Aborted when the lease was lost (heartbeat refused, or a fenced write of this claim refused); its signal is made when read. */
  held: { readonly aborted: boolean; readonly signal: AbortSignal };
  /** Called when recordStep / loadSteps says the token no longer holds the record. */
  loseLease(): void;
  emit(event: CallEventBody): void;
  fence: number;
}

type StepStore = IdempotencyStore & Required<Pick<IdempotencyStore, 'loadSteps' | 'recordStep'>>;

/**
 * The steps of one held claim (lease mode). Steps are identified by position and name: the i-th
 * step that completes in a run must carry the name recorded at index i. Recorded steps are loaded
 * once, lazily, at the first step call, and only on a reclaimed claim (a fresh one has none), so a
 * fresh run costs one recordStep per step and nothing else.
 */
export class StepRunner<Tx> implements StepCalls<Tx> {
  /** Steps of the record: loaded ones, then the ones this run recorded. Undefined until needed. */
  private recorded: StepRecord[] | undefined;
  /** How many steps completed (replayed or recorded) in this run: the next step's index. */
  private completed = 0;
  private running: string | undefined;
  private finished = false;

  constructor(private readonly kit: StepKit) {}

  /** Whether the record may hold steps: a failed outcome must then not delete it (see held-claim.ts). */
  async holdsSteps(): Promise<boolean> {
    const store = stepStore(this.kit.store);
    if (!store) return false;
    if (this.recorded) return this.recorded.length > 0;
    if (!this.kit.reclaimed) return false;
    // Reclaimed and never asked: the crashed holder's steps may be there.
    const loaded = await store.loadSteps(this.kit.scope, this.kit.token);
    return loaded !== null && loaded.length > 0;
  }

  /** The claim was committed or released: later step calls are refused. */
  finish(): void {
    this.finished = true;
  }

  step<T>(name: string, fn: (step: ExternalStep) => Promise<T> | T): Promise<T> {
    return this.run(name, 'external', fn, async (store, index) => {
      const value = await fn({ key: this.kit.deriveKey(name) });
      const result = await this.kit.outcomes.encodeValue(this.kit.scope, value);
      const step: StepRecord = { index, name, kind: 'external', result, completedAt: this.kit.clock.now() };
      await this.record(store, step);
      return { value, step };
    });
  }

  databaseStep<T>(name: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.run(name, 'database', fn, async (store, index) => {
      if (!isTransactionalStore(store)) {
        throw new ConfigurationError('oncely: databaseStep() needs a store with transactions, such as PrismaStore; use step() for calls outside your database.');
      }
      let failedInside: { error: unknown } | undefined;
      try {
        return await store.transaction(async (txStore: TransactionScope, tx) => {
          try {
            // The step's writes and its record commit together: a holder that lost its claim rolls both back.
            const value = await fn(tx as Tx);
            const result = await this.kit.outcomes.encodeValue(this.kit.scope, value);
            const txSteps = stepStore(txStore);
            if (!txSteps) throw new ConfigurationError("oncely: this store's transactions cannot record steps (its transaction scope has no recordStep).");
            const step: StepRecord = { index, name, kind: 'database', result, completedAt: this.kit.clock.now() };
            await this.record(txSteps, step);
            return { value, step };
          } catch (error) {
            failedInside = { error };
            throw error;
          }
        });
      } catch (error) {
        // What the step threw is the work's; only the transaction's own failure (open, commit) is the store's.
        if (failedInside?.error === error || error instanceof IdempotencyError) throw error;
        throw new StoreUnavailableError(error);
      }
    });
  }

  private async run<T>(name: string, kind: StepRecord['kind'], fn: unknown, execute: (store: StepStore, index: number) => Promise<{ value: T; step: StepRecord }>): Promise<T> {
    if (typeof name !== 'string' || name === '') throw new ConfigurationError(`oncely: a step needs a non-empty name (got ${typeof name === 'string' ? 'an empty string' : typeof name}).`);
    if (typeof fn !== 'function') throw new ConfigurationError(`oncely: step '${name}' needs a function to run (got ${typeof fn}).`);
    if (this.finished) throw new ConfigurationError(`oncely: step '${name}' was called after its claim was committed or released.`);
    if (this.running !== undefined) {
      throw new ConfigurationError(`oncely: step '${name}' was called while step '${this.running}' still runs; steps of one claim run one after another (await each), or their order would be ambiguous.`);
    }
    const store = stepStore(this.kit.store);
    if (!store) throw new ConfigurationError('oncely: steps need a store that records them (loadSteps and recordStep): PrismaStore, RedisStore or MemoryStore.');
    this.running = name;
    try {
      if (this.kit.held.aborted) throw this.kit.held.signal.reason;
      const recorded = await this.load(store);
      const index = this.completed;
      const previous = recorded[index];
      if (previous) {
        if (previous.name !== name) throw new StepMismatchError(index, name, previous.name);
        const value = (await this.kit.outcomes.decodeValue(this.kit.scope, previous.result)) as T;
        this.completed++;
        this.kit.emit({ type: 'step_replayed', fence: this.kit.fence, name, index, kind: previous.kind });
        return value;
      }
      const { value, step } = await execute(store, index);
      // Only now: a database step's record counts once its transaction committed.
      recorded.push(step);
      this.completed++;
      this.kit.emit({ type: 'step_recorded', fence: this.kit.fence, name, index, kind });
      return value;
    } finally {
      this.running = undefined;
    }
  }

  private async load(store: StepStore): Promise<StepRecord[]> {
    if (this.recorded) return this.recorded;
    if (!this.kit.reclaimed) return (this.recorded = []);
    const loaded = await storeCall(() => store.loadSteps(this.kit.scope, this.kit.token));
    if (loaded === null) throw this.lost();
    return (this.recorded = [...loaded].sort((a, b) => a.index - b.index));
  }

  /** Fenced by the token; the same write renews the lease. Refused: another request holds the record now. */
  private async record(store: StepStore, step: StepRecord): Promise<void> {
    const recorded = await storeCall(() => store.recordStep(this.kit.scope, this.kit.token, step, this.kit.clock.now() + this.kit.lease));
    if (!recorded) throw this.lost();
  }

  private lost(): unknown {
    this.kit.loseLease();
    return this.kit.held.aborted ? this.kit.held.signal.reason : leaseLostError();
  }
}

/** Steps refused in transactional mode, and in replayed contexts. */
export function refusedSteps<Tx>(reason: string): StepCalls<Tx> {
  const refuse = () => Promise.reject(new ConfigurationError(reason));
  return { step: refuse, databaseStep: refuse };
}

export const TRANSACTIONAL_STEPS = 'oncely: transactional mode is already all-or-nothing; steps are for lease mode (transactional: false).';

function stepStore(store: IdempotencyStore): StepStore | undefined {
  return typeof store.loadSteps === 'function' && typeof store.recordStep === 'function' ? (store as StepStore) : undefined;
}
