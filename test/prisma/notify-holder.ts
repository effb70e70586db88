/**
 * Process A of test/prisma/notify.test.ts: holds keys and completes or releases them on command,
 * through its own PrismaClient and a PrismaStore with `notify` (so its statements NOTIFY).
 *
 * stdin: one JSON command a line, { cmd, key, ... }; stdout: one JSON event a line, { event, key, at }.
 * `at` is wall-clock ms with sub-ms precision (performance.timeOrigin + now), comparable across processes.
 *
 *   begin { key, inTx? }   claim the key (inTx: its completion will run in a transaction held open)
 *   commit { key, value }  store { ok: true, value }: events "sending" (just before), then "committed"
 *                          (inTx: "inside" once the completion ran in the transaction, which then waits
 *                          for end-tx before committing)
 *   end-tx { key }         commit that transaction
 *   release { key }        release the claim: events "sending", then "released"
 */
import { createInterface } from 'node:readline';
import { PrismaPg } from '@prisma/adapter-pg';
import { Idempotency, type IdempotencyStore } from '../../src/index.js';
import type { HeldClaim } from '../../src/core/call.js';
import type { RecordScope } from '../../src/core/record.js';
import type { Completion } from '../../src/core/store.js';
import { PrismaStore } from '../../src/prisma/index.js';
import { PrismaClient } from '../../generated/postgresql/client.js';

const [url, table] = process.argv.slice(2) as [string, string];
const client = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 4 }) });
const store = new PrismaStore({ client, table, notify: { connectionString: url } });
const ends = new Map<string, () => void>();

/** The store, with completions run in a transaction that stays open until end-tx. */
const inTxStore: IdempotencyStore = {
  create: (r) => store.create(r),
  createOrGet: (r) => store.createOrGet(r),
  get: (s) => store.get(s),
  takeOver: (r, t, n) => store.takeOver(r, t, n),
  renew: (s, t, l, n) => store.renew(s, t, l, n),
  release: (s, t) => store.release(s, t),
  purgeExpired: (n, l) => store.purgeExpired(n, l),
  complete: (scope: RecordScope, token: string, completion: Completion) =>
    client.$transaction(async (tx) => {
      const changed = await store.withClient(tx).complete(scope, token, completion);
      emit('inside', scope.key);
      await new Promise<void>((resolve) => ends.set(scope.key, resolve));
      return changed;
    }, { timeout: 60_000 }),
};

const engines = {
  plain: new Idempotency({ store, heartbeat: false }),
  inTx: new Idempotency({ store: inTxStore, heartbeat: false }),
};
const held = new Map<string, HeldClaim<string, unknown>>();
const call = (key: string) => ({ tenant: 't', operation: 'charge', key, input: { amount: 1 } });
const now = () => performance.timeOrigin + performance.now();

function emit(event: string, key: string, extra: object = {}): void {
  process.stdout.write(`${JSON.stringify({ event, key, at: now(), ...extra })}\n`);
}

async function handle(command: { cmd: string; key: string; value?: string; inTx?: boolean }): Promise<void> {
  const { cmd, key } = command;
  switch (cmd) {
    case 'begin': {
      const begun = await (command.inTx ? engines.inTx : engines.plain).begin<string>(call(key));
      if (begun.replayed) throw new Error(`key ${key} was already used`);
      held.set(key, begun);
      return emit('held', key);
    }
    case 'commit':
      emit('sending', key);
      await held.get(key)!.commit({ ok: true, value: command.value ?? '' });
      return emit('committed', key);
    case 'end-tx':
      ends.get(key)!();
      return;
    case 'release':
      emit('sending', key);
      await held.get(key)!.release();
      return emit('released', key);
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as { cmd: string; key: string };
  handle(command).catch((error: unknown) => emit('failed', command.key, { error: String(error) }));
});
process.stdin.on('end', () => {
  void store.close().then(() => client.$disconnect()).then(() => process.exit(0));
});
emit('ready', '');
