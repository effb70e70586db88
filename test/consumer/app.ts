// The application the snippets are excerpts of: its tRPC context, router and schema. prelude.d.ts
// makes these visible to every snippet under the names the docs use.
import type { IncomingMessage } from 'node:http';
import { initTRPC } from '@trpc/server';
import type { CreateHTTPContextOptions } from '@trpc/server/adapters/standalone';
import superjson from 'superjson';

export interface User {
  accountId: string;
}
export type Context = CreateHTTPContextOptions & { user: User };

export const t = initTRPC.context<Context>().create({ transformer: superjson });

export const PaySchema = (raw: unknown) => raw as { orderId: string };

const appRouter = t.router({
  pay: t.procedure.input(PaySchema).mutation(({ input }) => ({ id: `pay_${input.orderId}`, paidAt: new Date() })),
  payOrder: t.procedure.input(PaySchema).mutation(({ input }) => ({ id: `pay_${input.orderId}`, paidAt: new Date() })),
});
export type AppRouter = typeof appRouter;

export declare function auth(req: IncomingMessage): User;
export declare function auth(): Record<string, string>;
