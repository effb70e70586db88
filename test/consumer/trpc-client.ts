// The README's tRPC client (oncely/client/trpc links, superjson like the server) against the
// running tRPC quickstart. Prints what it saw as JSON for scripts/consumer-test.mjs.
import { createTRPCClient, httpBatchLink, retryLink } from '@trpc/client';
import { idempotencyHeaders, idempotencyLink } from 'oncely/client/trpc';
import superjson from 'superjson';
import { argument } from './db.js';
import type { AppRouter } from './trpc-server.js';

const trpc = createTRPCClient<AppRouter>({
  links: [idempotencyLink(), retryLink({ retry: ({ attempts }) => attempts <= 3 }),
    httpBatchLink({ url: argument('url'), transformer: superjson, headers: idempotencyHeaders })],
});

const own = await trpc.pay.mutate({ orderId: 'ord_client_1', amount: 5 });
const key = `client-${Date.now()}`;
const first = await trpc.pay.mutate({ orderId: 'ord_client_2', amount: 6 }, { context: { idempotencyKey: key } });
const again = await trpc.pay.mutate({ orderId: 'ord_client_2', amount: 6 }, { context: { idempotencyKey: key } });
console.log(JSON.stringify({
  ran: typeof own.id === 'number' && typeof first.id === 'number' && own.id !== first.id,
  replayedSameId: again.id === first.id,
  date: again.paidAt instanceof Date && again.paidAt.getTime() === first.paidAt.getTime(),
  bigint: typeof again.cents === 'bigint' && again.cents === 600n,
}));
