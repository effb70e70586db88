import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga, type YogaServerOptions } from 'graphql-yoga';
import { idempotentDirectiveTypeDefs, useIdempotency, type IdempotencyPluginContext } from '../../src/envelop/index.js';
import type { UseIdempotencyOptions } from '../../src/envelop/options.js';

/** What the test resolvers did, so that tests can count real executions. */
export interface Calls {
  pay: number;
  charge: number;
  fail: number;
  slow: number;
  record: number;
  hello: number;
  chargeKeys: string[];
}

export const typeDefs = /* GraphQL */ `
  ${idempotentDirectiveTypeDefs}
  type Query { hello: String! }
  input PayInput { orderId: String!, amount: Int!, idempotencyKey: String }
  type Payment { id: ID!, orderId: String!, amount: Int!, chargeKey: String!, at: String! }
  type Mutation {
    pay(input: PayInput!): Payment!
    charge(orderId: String!, amount: Int!, idempotencyKey: String): Payment
    fail(kind: String!, idempotencyKey: String): Payment
    slow(ms: Int!, idempotencyKey: String): Int!
    record(note: String!, fail: Boolean, declined: Boolean, idempotencyKey: String): String
  }
`;

type Ctx = IdempotencyPluginContext & { request: Request };

export function makeSchema(calls: Calls, options: { sql?: (tx: unknown, note: string) => Promise<void> } = {}) {
  let seq = 0;
  const payment = (ctx: Ctx, orderId: string, amount: number) => ({
    id: `pay_${++seq}`,
    orderId,
    amount,
    chargeKey: ctx.idempotency?.deriveKey('charge') ?? 'none',
    at: new Date().toISOString(),
  });
  return createSchema<Ctx>({
    typeDefs,
    resolvers: {
      Query: {
        hello: () => {
          calls.hello++;
          return 'world';
        },
      },
      Mutation: {
        pay: (_: unknown, { input }: { input: { orderId: string; amount: number } }, ctx: Ctx) => {
          calls.pay++;
          const p = payment(ctx, input.orderId, input.amount);
          calls.chargeKeys.push(p.chargeKey);
          return p;
        },
        charge: (_: unknown, args: { orderId: string; amount: number }, ctx: Ctx) => {
          calls.charge++;
          if (args.amount <= 0) throw new GraphQLError('Amount must be positive', { extensions: { code: 'BAD_AMOUNT' } });
          return payment(ctx, args.orderId, args.amount);
        },
        fail: (_: unknown, args: { kind: string }) => {
          calls.fail++;
          if (args.kind === 'expected') throw new GraphQLError('Card declined', { extensions: { code: 'CARD_DECLINED' } });
          throw new Error(`database exploded (secret detail ${calls.fail})`);
        },
        slow: async (_: unknown, args: { ms: number }) => {
          calls.slow++;
          await new Promise((resolve) => setTimeout(resolve, args.ms));
          return calls.slow;
        },
        record: async (_: unknown, args: { note: string; fail?: boolean; declined?: boolean }, ctx: Ctx) => {
          calls.record++;
          if (!options.sql) throw new Error('no sql');
          await options.sql(ctx.idempotency?.tx, args.note);
          if (args.fail) throw new Error('failed after writing');
          // An expected error, after the write: the kind of outcome a non-transactional key stores.
          if (args.declined) throw new GraphQLError('Card declined', { extensions: { code: 'CARD_DECLINED' } });
          return args.note;
        },
      },
    },
  });
}

export function newCalls(): Calls {
  return { pay: 0, charge: 0, fail: 0, slow: 0, record: 0, hello: 0, chargeKeys: [] };
}

export interface YogaApp {
  /** The GraphQL endpoint (in process: a URL that never reaches a socket). */
  url: string;
  /** Sends a request to the app: Yoga's own `fetch` in process, the global fetch over HTTP. */
  fetch(request: Request): Promise<Response>;
  calls: Calls;
  close(): Promise<void>;
}

type YogaOptions = Partial<YogaServerOptions<Record<string, unknown>, Record<string, unknown>>>;

/**
 * A Yoga app with the plugin. By default in process: requests go to `yoga.fetch` (no socket, no
 * port). `{ http: true }` serves it on a free port of a real node:http server, for the tests whose
 * subject is the HTTP layer or a database.
 */
export async function startYogaApp(
  plugin: UseIdempotencyOptions,
  yoga: YogaOptions = {},
  schemaOptions: Parameters<typeof makeSchema>[1] = {},
  { http = false }: { http?: boolean } = {},
): Promise<YogaApp> {
  const calls = newCalls();
  const app = createYoga({
    schema: makeSchema(calls, schemaOptions),
    plugins: [useIdempotency(plugin)],
    logging: false,
    ...yoga,
  } as YogaServerOptions<Record<string, unknown>, Record<string, unknown>>);
  if (!http) {
    return { url: 'http://yoga.test/graphql', fetch: (request) => Promise.resolve(app.fetch(request)), calls, close: async () => undefined };
  }
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    fetch: (request) => fetch(request),
    calls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export interface GqlRequest {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  extensions?: Record<string, unknown>;
}

/** POSTs a GraphQL request to an app (in process or over HTTP) or to a URL (real HTTP). */
export async function post(target: YogaApp | string, body: GqlRequest | GqlRequest[], headers: Record<string, string> = {}): Promise<Reply> {
  const request = new Request(typeof target === 'string' ? target : target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify(body),
  });
  const response = await (typeof target === 'string' ? fetch(request) : target.fetch(request));
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : undefined };
}

export const PAY = /* GraphQL */ `
  mutation Pay($orderId: String!, $amount: Int!) {
    pay(input: { orderId: $orderId, amount: $amount }) { id orderId amount chargeKey }
  }
`;

let counter = 0;
export function newKey(label = 'k'): string {
  return `${label}-${process.pid}-${Date.now()}-${++counter}`;
}
