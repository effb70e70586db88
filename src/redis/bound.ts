/**
 * Fail-fast guard around everything the store sends. A Redis outage must cost a request about
 * `commandTimeout`, never ioredis' reconnect schedule: the engine turns the error into
 * IDEMPOTENCY_STORE_UNAVAILABLE (503 with Retry-After).
 */

/** Redis could not be reached in time. Not an IdempotencyError: the engine reports it as a store outage (503). */
export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(`RedisStore: ${message}`);
    this.name = 'RedisUnavailableError';
  }
}

/** What the guard may read of a client: ioredis' `status` and its connection events, when present. */
interface Observable {
  status?: unknown;
  once?(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener?(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** The connection is being set up: wait (within the bound) for it instead of handing ioredis a command to queue. */
const CONNECTING = new Set(['connecting', 'connect']);
/**
 * Usable as is: ready, or never connected yet with `lazyConnect` (the first command starts the
 * connection; the bound still applies). Any other ioredis status ("reconnecting", "close", "end",
 * "disconnecting") means the connection is down: fail at once.
 */
const USABLE = new Set(['ready', 'wait']);

/**
 * Runs `fn` (the commands of one store step) only if the client is connected, and gives up when it
 * has not finished `timeoutMs` after the call: by then the step has failed for the caller. `fn`
 * gets the local time at which the store gives up (so that a claim can carry it to Redis) and a
 * flag set when it did (so that an answer arriving later is known to have nobody waiting).
 *
 * A command the store gave up on may still reach Redis later (it sat in a socket buffer, or a
 * client resent it): every store step is written so that running late is harmless (see lua.ts).
 */
export function bounded<T>(client: unknown, timeoutMs: number, fn: (giveUpAt: number, gaveUp: GaveUp) => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  let waiting: Promise<void> | void;
  try {
    waiting = connected(client as Observable, timeoutMs);
  } catch (error) {
    return Promise.reject(error);
  }
  // Not async, so the usual path (the client is ready) costs no extra ticks.
  return waiting ? waiting.then(() => run(giveUpAt, timeoutMs, fn)) : run(giveUpAt, timeoutMs, fn);
}

function run<T>(giveUpAt: number, timeoutMs: number, fn: (giveUpAt: number, gaveUp: GaveUp) => Promise<T>): Promise<T> {
  // A plain flag, not an AbortController: this runs for every command, and nothing listens for the abort.
  const gaveUp: GaveUp = { aborted: false };
  let work: Promise<T>;
  try {
    work = fn(giveUpAt, gaveUp);
  } catch (error) {
    return Promise.reject(error);
  }
  // One timer and a plain promise (no Promise.race, no extra awaits): this wraps every command.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      gaveUp.aborted = true;
      reject(new RedisUnavailableError(`Redis did not answer within ${timeoutMs} ms (commandTimeout).`));
    }, Math.max(0, giveUpAt - Date.now()));
    // After the timeout the promise is settled: a late answer or failure has nobody to report to.
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Set once the store gave up on a call. */
export interface GaveUp {
  aborted: boolean;
}

/** Resolves once the client can take a command; rejects at once when its connection is down. */
function connected(client: Observable, timeoutMs: number): Promise<void> | void {
  const status = client?.status;
  if (typeof status !== 'string' || USABLE.has(status)) return;
  if (!CONNECTING.has(status) || typeof client.once !== 'function') {
    throw new RedisUnavailableError(`the Redis client is ${status}; not sending the command.`);
  }
  const connecting = connectionOf(client);
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RedisUnavailableError(`the Redis client did not connect within ${timeoutMs} ms (commandTimeout).`)), timeoutMs);
    connecting.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * One wait per client for its connection, however many calls are waiting: a burst of requests
 * while the client connects adds one pair of listeners, not one per request (and no warning about
 * too many listeners). Each call bounds its own wait.
 */
const connecting = new WeakMap<Observable, Promise<void>>();

function connectionOf(client: Observable): Promise<void> {
  let wait = connecting.get(client);
  if (!wait) {
    wait = new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        connecting.delete(client);
        client.removeListener?.('ready', onReady);
        client.removeListener?.('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => done();
      const onClose = () => done(new RedisUnavailableError('the Redis connection closed while connecting.'));
      client.once?.('ready', onReady);
      client.once?.('close', onClose);
    });
    wait.catch(() => undefined); // reported to the calls waiting on it, if any still are
    connecting.set(client, wait);
  }
  return wait;
}
