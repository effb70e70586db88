import { bounded } from './bound.js';
import type { RedisClientLike, RedisSubscriberLike } from './client.js';

/** How long a channel stays subscribed after its last waiter left: the engine waits in short steps. */
const LINGER_MS = 1000;

interface Channel {
  waiters: Set<() => void>;
  /** Resolves once SUBSCRIBE is confirmed; rejects when it failed. */
  ready: Promise<void>;
  linger?: NodeJS.Timeout;
}

/**
 * Wakes waiters when a record's channel gets a message (the scripts publish on complete, release
 * and takeover). One subscriber connection per store, opened on first use; one subscription per
 * channel however many requests wait on it, dropped a moment after the last waiter left.
 *
 * Any failure (no pub/sub, a lost connection) degrades to sleeping for the timeout: the engine then
 * re-reads the record, which is the polling fallback. A wait never outlasts its timeout, and a
 * SUBSCRIBE is bounded by `commandTimeout` like every other command (it waits for a connection
 * that is being set up, so a client with `enableOfflineQueue: false` subscribes too).
 */
export class ChangeNotifier {
  private subscriber: RedisSubscriberLike | undefined;
  private readonly channels = new Map<string, Channel>();
  private closed = false;

  constructor(
    private readonly client: RedisClientLike,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Resolves when `channel` gets a message or after `timeoutMs`. `stillWaiting` runs once the
   * subscription is live: a change that happened before that is caught by reading the record.
   */
  async wait(channel: string, timeoutMs: number, stillWaiting: () => Promise<boolean>): Promise<void> {
    if (this.closed || timeoutMs <= 0) return sleep(timeoutMs);
    return new Promise<void>((resolve) => {
      let entry: Channel | undefined;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (entry) this.leave(channel, entry, finish);
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      try {
        entry = this.join(channel, finish);
      } catch {
        return; // no subscriber connection: the timer alone ends the wait
      }
      entry.ready.then(
        () => stillWaiting().then((waiting) => waiting || finish(), () => undefined),
        () => undefined,
      );
    });
  }

  close(): void {
    this.closed = true;
    for (const entry of this.channels.values()) {
      clearTimeout(entry.linger);
      for (const wake of entry.waiters) wake();
    }
    this.channels.clear();
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  private join(channel: string, wake: () => void): Channel {
    let entry = this.channels.get(channel);
    if (!entry) {
      const subscriber = this.connection();
      let sent: Promise<unknown> | undefined;
      const ready = bounded(subscriber, this.timeoutMs, () => (sent = subscriber.subscribe(channel))).then(() => undefined);
      const created: Channel = { waiters: new Set(), ready };
      ready.catch(() => {
        if (this.channels.get(channel) === created) this.channels.delete(channel); // the next waiter subscribes again
        // Confirmed after we gave up on it: nobody tracks that subscription, drop it (unless a newer waiter uses the channel).
        sent?.then(
          () => this.channels.has(channel) || this.subscriber?.unsubscribe(channel).catch(() => undefined),
          () => undefined,
        );
      });
      entry = created;
      this.channels.set(channel, entry);
    }
    clearTimeout(entry.linger);
    entry.linger = undefined;
    entry.waiters.add(wake);
    return entry;
  }

  private leave(channel: string, entry: Channel, wake: () => void): void {
    entry.waiters.delete(wake);
    if (entry.waiters.size > 0 || this.channels.get(channel) !== entry) return;
    entry.linger = setTimeout(() => {
      if (entry.waiters.size > 0 || this.channels.get(channel) !== entry) return;
      this.channels.delete(channel);
      this.subscriber?.unsubscribe(channel).catch(() => undefined);
    }, LINGER_MS);
    entry.linger.unref?.();
  }

  private connection(): RedisSubscriberLike {
    if (!this.subscriber) {
      const subscriber = this.client.duplicate();
      subscriber.on('message', (channel: string) => {
        const entry = this.channels.get(channel);
        if (entry) for (const wake of [...entry.waiters]) wake();
      });
      // Connection errors only delay wake-ups (waits end on their timers); keep them off stderr.
      subscriber.on('error', () => undefined);
      this.subscriber = subscriber;
    }
    return this.subscriber;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
