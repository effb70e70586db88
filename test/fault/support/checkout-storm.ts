/**
 * A checkout storm: many keys, several clients per key sending the same request at once and
 * retrying with the same key until answered, while a killer SIGKILLs a random server process now
 * and then and starts a new one in its place.
 */
import { PRICES } from '../../../examples/shared/shop.js';
import { type Adapter, type CheckoutLog, sendCheckout, verdict } from './checkout-client.js';
import { type ChildServer, sleep } from './harness.js';

export interface StormOptions {
  /** Prefix of every key and customer of this storm (one customer per key). */
  prefix: string;
  keys: number;
  /** Clients sending each key's request at the same time. */
  clientsPerKey: number;
  /** Keys in flight at once. */
  keysInFlight: number;
  /** SIGKILLs during the storm (the killer stops when the clients are done, whatever the count). */
  kills: number;
  /** Mean pause between kills. */
  killEveryMs: number;
  /** How long a key may take to get an answer before the storm gives up on it. */
  keyDeadlineMs: number;
  random: () => number;
  /** The server processes; the killer replaces slots in place. */
  servers: (ChildServer | undefined)[];
  start(): Promise<ChildServer>;
}

export interface StormFigures {
  requests: number;
  retries: number;
  noAnswer: number;
  conflicts: number;
  otherRetryable: number;
  replays: number;
  kills: number;
  unanswered: number;
  refused: number;
  seconds: number;
}

export async function runStorm(options: StormOptions): Promise<{ logs: CheckoutLog[]; figures: StormFigures; refusals: string[] }> {
  const { random, servers } = options;
  const items = Object.keys(PRICES);
  const logs: CheckoutLog[] = Array.from({ length: options.keys }, (_, i) => {
    const adapter: Adapter = i % 2 === 0 ? 'yoga' : 'trpc';
    const id = `${options.prefix}-${i}`;
    return {
      request: { adapter, key: id, customer: id, item: items[Math.floor(random() * items.length)]!, quantity: 1 + Math.floor(random() * 5) },
      bodies: [],
      refusals: [],
    };
  });
  const figures: StormFigures = { requests: 0, retries: 0, noAnswer: 0, conflicts: 0, otherRetryable: 0, replays: 0, kills: 0, unanswered: 0, refused: 0, seconds: 0 };
  const refusals: string[] = [];
  const begin = performance.now();
  let done = false;

  const liveServer = async (): Promise<ChildServer> => {
    for (;;) {
      const live = servers.filter((s): s is ChildServer => s !== undefined && s.proc.exitCode === null && s.proc.signalCode === null);
      if (live.length > 0) return live[Math.floor(random() * live.length)]!;
      await sleep(50);
    }
  };

  /** One client: the same request until a definitive answer (or the key's deadline). */
  async function client(log: CheckoutLog, deadline: number): Promise<void> {
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      figures.requests++;
      if (attempt > 0) figures.retries++;
      const attempted = await sendCheckout(await liveServer(), log.request, { timeoutMs: 15_000 });
      const v = verdict(attempted, log.request.adapter);
      if (v.kind === 'answered') {
        log.bodies.push(v.body);
        if (v.replayed) figures.replays++;
        return;
      }
      if (v.kind === 'refused') {
        log.refusals.push(v.why);
        refusals.push(`${log.request.key}: ${v.why}`);
        return;
      }
      if ('failed' in attempted) figures.noAnswer++;
      else if (attempted.answer.status === 409) figures.conflicts++;
      else figures.otherRetryable++;
      await sleep(50 + random() * 150);
    }
  }

  const killer = (async () => {
    while (!done && figures.kills < options.kills) {
      await sleep(options.killEveryMs * (0.5 + random()));
      if (done) break;
      const slot = Math.floor(random() * servers.length);
      const victim = servers[slot];
      if (!victim) continue;
      servers[slot] = undefined;
      await victim.kill();
      figures.kills++;
      servers[slot] = await options.start();
    }
  })();

  let next = 0;
  await Promise.all(
    Array.from({ length: options.keysInFlight }, async () => {
      while (next < logs.length) {
        const log = logs[next++]!;
        const deadline = Date.now() + options.keyDeadlineMs;
        await Promise.all(Array.from({ length: options.clientsPerKey }, () => client(log, deadline)));
      }
    }),
  );
  done = true;
  await killer;
  // Once more per key, after the storm: the answer must still be the same.
  for (const log of logs) {
    if (log.bodies.length === 0) continue;
    await client(log, Date.now() + options.keyDeadlineMs);
  }
  figures.unanswered = logs.filter((l) => l.bodies.length === 0).length;
  figures.refused = logs.filter((l) => l.refusals.length > 0).length;
  figures.seconds = Number(((performance.now() - begin) / 1000).toFixed(1));
  return { logs, figures, refusals };
}
