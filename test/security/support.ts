/**
 * In-process Yoga and tRPC apps on the real adapters (src), over a real PrismaStore, plus a raw
 * HTTP client that can send what fetch refuses (control characters, raw bytes, repeated headers).
 */
import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { TRPCError, initTRPC } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { createSchema, createYoga } from 'graphql-yoga';
import { idempotentDirectiveTypeDefs, useIdempotency, type IdempotencyPluginContext } from '../../src/envelop/index.js';
import type { UseIdempotencyOptions } from '../../src/envelop/options.js';
import { createIdempotentProcedure } from '../../src/trpc/index.js';
import type { StoreOptions } from '../../src/trpc/options.js';
import type { IdempotencyStore } from '../../src/core/store.js';

export interface Apps {
  yoga: string;
  trpc: string;
  /** How often each mutation actually ran. */
  runs: { yoga: number; trpc: number };
  close(): Promise<void>;
}

type Ctx = IdempotencyPluginContext & { request: Request };

export async function startApps(
  store: IdempotencyStore,
  options: { engine?: Partial<UseIdempotencyOptions> & Partial<StoreOptions>; big?: number } = {},
): Promise<Apps> {
  const runs = { yoga: 0, trpc: 0 };
  const yoga = createYoga<Ctx>({
    schema: createSchema<Ctx>({
      typeDefs: /* GraphQL */ `
        ${idempotentDirectiveTypeDefs}
        scalar JSON
        type Query { ok: Boolean! }
        type Result { run: Int!, note: String, secret: String, big: String }
        type Mutation { pay(amount: Int!, note: String, data: JSON, idempotencyKey: String, big: Int): Result! }
      `,
      resolvers: {
        Query: { ok: () => true },
        Mutation: {
          pay: (_: unknown, args: { note?: string; big?: number }) => {
            runs.yoga++;
            return { run: runs.yoga, note: args.note ?? null, secret: `card-4242-${runs.yoga}`, big: args.big ? 'x'.repeat(args.big) : null };
          },
        },
      },
    }),
    logging: false,
    plugins: [
      useIdempotency<Ctx>({
        store,
        getTenant: ({ request }) => request.headers.get('x-tenant') ?? 'acme',
        required: true,
        ...(options.engine as object),
      }),
    ],
  });

  const t = initTRPC.context<{ tenant: string; req: unknown; res: unknown; info: unknown }>().create();
  const idempotent = t.procedure.concat(
    createIdempotentProcedure({ store, getTenant: ({ ctx }) => (ctx as { tenant: string }).tenant, ...(options.engine as object) }),
  );
  const router = t.router({
    pay: idempotent
      .input((raw) => {
        if (raw === null || typeof raw !== 'object') throw new TRPCError({ code: 'BAD_REQUEST', message: 'expected an object' });
        return raw as { note?: unknown; big?: number };
      })
      .mutation(({ input }) => {
        runs.trpc++;
        return { run: runs.trpc, secret: `card-4242-${runs.trpc}`, big: input.big ? 'x'.repeat(input.big) : null };
      }),
  });
  const trpc = createHTTPHandler({
    router,
    basePath: '/trpc/',
    createContext: ({ req, res, info }) => {
      const header = req.headers['x-tenant'];
      return { req, res, info, tenant: (Array.isArray(header) ? header[0] : header) || 'acme' };
    },
  });
  const servers: Server[] = [createServer(yoga), createServer(trpc)];
  for (const server of servers) {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  }
  const url = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  return {
    yoga: `${url(servers[0]!)}/graphql`,
    trpc: `${url(servers[1]!)}/trpc/pay`,
    runs,
    close: async () => {
      for (const server of servers) {
        server.closeAllConnections();
        server.close();
      }
    },
  };
}

export interface RawAnswer {
  status: number;
  body: string;
  json: any;
}

/**
 * One HTTP/1.1 request written byte for byte on a socket: header values may hold anything
 * (Buffer for non-UTF-8 bytes), and a name may repeat. Bounded by `timeoutMs`.
 */
export function rawRequest(url: string, headers: [string, string | Buffer][], body: string | Buffer, timeoutMs = 20_000): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port) });
    const chunks: Buffer[] = [];
    const bodyBuffer = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => {
      const head: Buffer[] = [Buffer.from(`POST ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n`)];
      for (const [name, value] of headers) head.push(Buffer.from(`${name}: `), Buffer.isBuffer(value) ? value : Buffer.from(value), Buffer.from('\r\n'));
      head.push(Buffer.from(`Content-Length: ${bodyBuffer.length}\r\n\r\n`));
      socket.write(Buffer.concat([...head, bodyBuffer]));
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error) => {
      // The server may answer and close before reading a huge body: keep what was answered.
      if (chunks.length === 0) {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!match) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const split = text.indexOf('\r\n\r\n');
      let payload = split >= 0 ? text.slice(split + 4) : '';
      if (/\r\ntransfer-encoding: chunked/i.test(text.slice(0, split))) payload = dechunk(payload);
      let json: unknown;
      try {
        json = JSON.parse(payload);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(match[1]), body: payload, json });
    });
  });
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const line = rest.indexOf('\r\n');
    if (line < 0) return out;
    const size = Number.parseInt(rest.slice(0, line), 16);
    if (!size) return out;
    out += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}

/** The stable code of an error answer (GraphQL extensions.code, or tRPC's cause code / tRPC code). */
export function codeOf(answer: { json: any }): string | undefined {
  const json = answer.json;
  const first = Array.isArray(json) ? json[0] : json;
  return first?.errors?.[0]?.extensions?.code ?? first?.error?.data?.code ?? first?.error?.json?.data?.code;
}
