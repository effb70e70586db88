import type { IdempotencyRecord, RecordScope } from './record.js';

/**
 * Wakes the duplicates waiting in this process (wait mode) as soon as a claim held in this process
 * completes or is released, instead of leaving them to the store's notification or the capped poll.
 *
 * Waiters are grouped by the store object the engines were given, so engines sharing one store
 * wake each other; a WeakMap lets a store and its waiters go with it. Only this process is covered:
 * another process's holder, or a lease running out, still needs the store's waitForChange or the poll.
 */
/**
 * One subscription. Its promise is made only when someone waits on it: most subscriptions (wait
 * mode, a claim that found no holder) are cancelled unread.
 */
class Waiter implements LocalChange {
  private woken = false;
  private completed: IdempotencyRecord | undefined;
  private resolve: ((completed: IdempotencyRecord | undefined) => void) | undefined;
  private promise: Promise<IdempotencyRecord | undefined> | undefined;

  constructor(private readonly leave: (waiter: Waiter) => void) {}

  get changed(): Promise<IdempotencyRecord | undefined> {
    if (!this.promise) {
      this.promise = this.woken
        ? Promise.resolve(this.completed)
        : new Promise<IdempotencyRecord | undefined>((resolve) => {
            this.resolve = resolve;
          });
    }
    return this.promise;
  }

  wake(completed: IdempotencyRecord | undefined): void {
    this.woken = true;
    this.completed = completed;
    this.resolve?.(completed);
  }

  cancel(): void {
    this.leave(this);
  }
}

const waitersByStore = new WeakMap<object, Map<string, Set<Waiter>>>();

// Injective: JSON string escaping keeps the three parts apart whatever they contain.
const scopeId = (scope: RecordScope): string => JSON.stringify([scope.tenant, scope.operation, scope.key]);

export interface LocalChange {
  /**
   * Resolves at the next announce() of the scope on the store after subscribeLocal(): with the
   * record as its holder committed it when the change was a completion, else undefined.
   */
  changed: Promise<IdempotencyRecord | undefined>;
  /** Stops waiting; must be called (also after `changed` resolved) so nothing stays behind. */
  cancel(): void;
}

/**
 * Subscribes to the next change of `scope` on `store`. Subscribe BEFORE reading the record: a
 * change announced between the read and the subscription would otherwise be missed.
 */
export function subscribeLocal(store: object, scope: RecordScope): LocalChange {
  let scopes = waitersByStore.get(store);
  if (!scopes) waitersByStore.set(store, (scopes = new Map()));
  const id = scopeId(scope);
  let waiters = scopes.get(id);
  if (!waiters) scopes.set(id, (waiters = new Set()));
  const group = waiters;
  const waiter = new Waiter((self) => {
    if (!group.delete(self) || group.size > 0) return;
    // Only remove the group if it is still the current one (announce() may have replaced it).
    if (scopes.get(id) === group) scopes.delete(id);
  });
  group.add(waiter);
  return waiter;
}

/**
 * Wakes every waiter of `scope` on `store`. Call it once the change is visible to a re-read. A
 * holder whose completion committed passes the record as the store now holds it, so a storm of
 * duplicates replays it without a read each.
 */
export function announceLocal(store: object, scope: RecordScope, completed?: IdempotencyRecord): void {
  const scopes = waitersByStore.get(store);
  // Nobody waits on this store right now (the usual case): not even the scope's id is built.
  if (!scopes || scopes.size === 0) return;
  const id = scopeId(scope);
  const waiters = scopes.get(id);
  if (!waiters) return;
  scopes.delete(id);
  for (const waiter of waiters) waiter.wake(completed);
  waiters.clear();
}

/** What `store` has registered in this process: scopes with waiters, and waiters (tests: nothing stays behind). */
export function localWaiterCount(store: object): { scopes: number; waiters: number } {
  const scopes = waitersByStore.get(store);
  let waiters = 0;
  for (const group of scopes?.values() ?? []) waiters += group.size;
  return { scopes: scopes?.size ?? 0, waiters };
}
