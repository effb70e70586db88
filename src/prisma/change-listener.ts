import { CHANGE_CHANNEL, type ListenerConnection, type PgNotification, type ResolvedNotify } from './notify.js';

/** Wait step while the listener is not connected: waiters poll meanwhile. */
const FALLBACK_POLL_MS = 100;
/** Backoff between failed connection attempts (a drop reconnects at once). */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5000;
/** Bounds for marks left by reads nobody waited after (inProgress "reject", a wait that timed out). */
const MAX_MARKS = 64;
const SWEEP_ABOVE = 1000;
const STALE_MS = 60_000;

/** What the listener keeps about one record while this process reads or waits on it. */
interface Watch {
  /** Reads running now: a notification during one must be kept for the wait that may follow. */
  reading: number;
  /** The event count at the start of each read that found the record in progress, not yet waited on. */
  marks: number[];
  /** The event count of the record's last notification. */
  notified: number;
  waiters: Set<() => void>;
  touched: number;
}

/**
 * One LISTEN connection per store, shared by all its waiters; opened on the first wait, opened again
 * after it is lost. Completions and releases notify with the record's id (see `changeId`).
 *
 * A change can land between the engine's read of a record and its wait. Each read is marked with
 * the count of events (notifications received, connections established) at its start; a wait
 * whose read began before the record's last notification, or before the current connection
 * started listening, returns at once, and the engine re-reads. So no change is missed, and a
 * woken waiter reads once.
 *
 * Never in a request's way: without a connection (not yet open, lost, refused) waits end after a
 * short poll step, and connection errors only delay wake-ups.
 */
export class ChangeListener {
  private events = 0;
  /** The event count at which the current connection started listening. */
  private listeningSince = 0;
  private readonly watches = new Map<string, Watch>();
  private connection: ListenerConnection | undefined;
  private connecting: Promise<void> | undefined;
  private retryAt = 0;
  private retryDelay = RETRY_FIRST_MS;
  private closed = false;

  constructor(private readonly config: ResolvedNotify) {}

  /** Before a read of record `id`: returns the read's mark for `endRead`. */
  beginRead(id: string): number {
    const watch = this.watch(id);
    watch.reading++;
    return this.events;
  }

  /** After that read: `inProgress` when it found the record held, so that a wait may follow. */
  endRead(id: string, mark: number, inProgress: boolean): void {
    const watch = this.watches.get(id);
    if (!watch) return; // closed meanwhile
    watch.reading--;
    if (inProgress) {
      watch.marks.push(mark);
      if (watch.marks.length > MAX_MARKS) watch.marks.splice(0, watch.marks.length - MAX_MARKS);
    }
    this.forgetIfIdle(id, watch);
  }

  /** Resolves when record `id` was notified, the connection changed, or after the wait step. */
  wait(id: string, timeoutMs: number): Promise<void> {
    if (timeoutMs <= 0) return Promise.resolve();
    const watch = this.watch(id);
    // The earliest unconsumed mark: an older one than the caller's (a read nobody waited after)
    // only makes the wait end sooner, never miss a change.
    const since = takeSmallest(watch.marks) ?? this.events;
    if (Math.max(watch.notified, this.listeningSince) > since) {
      this.forgetIfIdle(id, watch);
      return Promise.resolve();
    }
    const live = this.connection !== undefined && !this.closed;
    if (!live) this.connect();
    const step = Math.min(timeoutMs, live ? this.config.recheckMs : FALLBACK_POLL_MS);
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        watch.waiters.delete(wake);
        this.forgetIfIdle(id, watch);
        resolve();
      };
      const timer = setTimeout(wake, step);
      watch.waiters.add(wake);
    });
  }

  /** Closes the connection and ends every wait; later waits only poll. */
  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    this.wakeAll();
    this.watches.clear();
    await Promise.all([connection?.dispose(), this.connecting]);
  }

  /** Starts a connection unless one is open, being opened, or a failed attempt is too recent. */
  private connect(): void {
    if (this.closed || this.connection || this.connecting || performance.now() < this.retryAt) return;
    this.connecting = this.open().finally(() => {
      this.connecting = undefined;
    });
  }

  private async open(): Promise<void> {
    let connection: ListenerConnection | undefined;
    try {
      connection = await this.config.connect();
      const opened = connection;
      const lost = () => {
        if (this.connection !== opened) return;
        this.connection = undefined;
        void opened.dispose();
        this.wakeAll(); // they poll until the next connection, which the next wait opens
      };
      opened.client.on('notification', (message) => this.notified(message));
      opened.client.on('error', lost);
      opened.client.on('end', lost);
      await opened.client.query(`LISTEN "${CHANGE_CHANNEL}"`);
      if (this.closed) {
        await opened.dispose();
        return;
      }
      this.connection = opened;
      this.retryDelay = RETRY_FIRST_MS;
      // Changes made before LISTEN took effect were not announced: every waiter reads again.
      this.listeningSince = ++this.events;
      this.wakeAll();
    } catch {
      await connection?.dispose();
      this.retryAt = performance.now() + this.retryDelay;
      this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
    }
  }

  private notified(message: PgNotification): void {
    if (message.channel !== CHANGE_CHANNEL || !message.payload) return;
    this.events++;
    const watch = this.watches.get(message.payload);
    if (!watch) return;
    watch.notified = this.events;
    for (const wake of [...watch.waiters]) wake();
  }

  private wakeAll(): void {
    for (const watch of [...this.watches.values()]) for (const wake of [...watch.waiters]) wake();
  }

  private watch(id: string): Watch {
    let watch = this.watches.get(id);
    if (!watch) {
      if (this.watches.size >= SWEEP_ABOVE) this.sweep();
      watch = { reading: 0, marks: [], notified: 0, waiters: new Set(), touched: 0 };
      this.watches.set(id, watch);
    }
    watch.touched = performance.now();
    return watch;
  }

  private forgetIfIdle(id: string, watch: Watch): void {
    if (watch.reading === 0 && watch.marks.length === 0 && watch.waiters.size === 0 && this.watches.get(id) === watch) this.watches.delete(id);
  }

  /** Drops watches holding only marks of reads nobody waited after. */
  private sweep(): void {
    const staleBefore = performance.now() - STALE_MS;
    for (const [id, watch] of this.watches) {
      if (watch.reading === 0 && watch.waiters.size === 0 && watch.touched < staleBefore) this.watches.delete(id);
    }
  }
}

function takeSmallest(marks: number[]): number | undefined {
  if (marks.length === 0) return undefined;
  let at = 0;
  for (let i = 1; i < marks.length; i++) if ((marks[i] as number) < (marks[at] as number)) at = i;
  return marks.splice(at, 1)[0];
}
