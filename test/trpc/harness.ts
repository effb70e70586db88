import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TRPCError, initTRPC } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { type Operation, TRPCClientError, createTRPCClient, httpBatchLink, httpLink } from '@trpc/client';
import express from 'express';
import superjson from 'superjson';
import type { Idempotency, IdempotencyStore } from '../../src/index.js';
import { type StoreOptions, type TrpcIdempotencyOptions, createIdempotencyMiddleware, formatBatchKeysHeader } from '../../src/trpc/index.js';

export type Adapter = 'standalone' | 'express' | 'fetch';

export interface Ctx {
  req: unknown;
  res?: unknown;
  resHeaders?: Headers;
  info?: unknown;
  tenant: string;
}

/** Counts how often each label's procedure body really ran. */
export class Counter {
  private readonly counts = new Map<string, number>();
  hit(label: string): number {
    const n = (this.counts.get(label) ?? 0) + 1;
    this.counts.set(label, n);
    return n;
  }
  of(label: string): number {
    return this.counts.get(label) ?? 0;
  }
}

export interface RichInput {
  label: string;
  at: Date;
  /** Values only a transformer carries (Map, Set, BigInt); off without superjson. */
  rich?: boolean;
  idempotencyKey?: string;
}

export function richOutput(input: RichInput, run: number) {
  if (!input.rich) return { label: input.label, run, nonce: Math.random(), at: input.at, nested: { list: [1, 2, { deep: 'x' }], nothing: null } };
  return {
    label: input.label,
    run,
    nonce: Math.random(),
    at: input.at,
    created: new Date(Date.now() - run),
    tags: new Set(['a', input.label]),
    totals: new Map<string, bigint>([['cents', 12_345_678_901_234_567_890n]]),
    nested: { list: [1, 2, { deep: new Date(0) }], nothing: null },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type MwOptions = Partial<Omit<StoreOptions, 'store' | 'engine'>>;

export function buildRouter(source: { store: IdempotencyStore } | { engine: Idempotency }, counter: Counter, opts: { superjson: boolean; options?: MwOptions }) {
  const t = initTRPC.context<Ctx>().create({
    ...(opts.superjson ? { transformer: superjson } : {}),
    errorFormatter({ shape, error }) {
      const cause = error.cause as { code?: unknown; retryAfter?: unknown; details?: unknown } | undefined;
      return {
        ...shape,
        data: { ...shape.data, oncelyCode: cause?.code ?? null, retryAfter: cause?.retryAfter ?? null, details: cause?.details ?? null },
      };
    },
  });
  const idempotent = t.procedure.use(
    createIdempotencyMiddleware({
      ...('engine' in source ? { engine: source.engine } : { store: source.store, lease: '5s' }),
      getTenant: ({ ctx }) => (ctx as Ctx).tenant,
      ...opts.options,
    } as TrpcIdempotencyOptions),
  );
  const optional = t.procedure.use(
    createIdempotencyMiddleware({ ...source, required: false, getTenant: ({ ctx }) => (ctx as Ctx).tenant }),
  );
  const router = t.router({
    create: idempotent
      .input((raw) => raw as RichInput)
      .mutation(({ input, ctx }) => {
        // Compile-time check: the middleware's context is typed.
        const key: string = ctx.idempotency.key;
        return { ...richOutput(input, counter.hit(input.label)), key, charge: ctx.idempotency.deriveKey('charge') };
      }),
    slow: idempotent
      .input((raw) => raw as { label: string; ms: number })
      .mutation(async ({ input }) => {
        const run = counter.hit(input.label);
        await sleep(input.ms);
        return { label: input.label, run };
      }),
    fail: idempotent
      .input((raw) => raw as { label: string; code: TRPC_ERROR_CODE_KEY })
      .mutation(({ input }) => {
        const run = counter.hit(input.label);
        const cause = Object.assign(new Error(`cause of ${input.label}`), { details: { run, field: 'quantity' } });
        throw new TRPCError({ code: input.code, message: `${input.code} for ${input.label} (run ${run})`, cause });
      }),
    optionalKey: optional
      .input((raw) => raw as { label: string })
      .mutation(({ input, ctx }) => ({ run: counter.hit(input.label), keyed: ctx.idempotency !== null })),
    read: idempotent.input((raw) => raw as { label: string }).query(({ input, ctx }) => ({ run: counter.hit(input.label), guarded: ctx.idempotency !== null })),
  });
  return router;
}

export type TestRouter = ReturnType<typeof buildRouter>;

export interface TrpcApp {
  /** The tRPC endpoint (in process: a URL that never reaches a socket). */
  url: string;
  /** What the client's link calls: the fetch adapter's handler in process, the global fetch over HTTP. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

function tenantOf(header: string | string[] | null | undefined): string {
  return (Array.isArray(header) ? header[0] : header) ?? 'tenant-a';
}

function fetchHandler(router: TestRouter) {
  return (request: Request) =>
    fetchRequestHandler({
      endpoint: '/trpc',
      req: request,
      router,
      createContext: ({ req: r, resHeaders, info }) => ({ req: r, resHeaders, info, tenant: tenantOf(r.headers.get('x-tenant')) }),
    });
}

/**
 * The router behind one of tRPC's adapters. `fetch` (the default) runs in process: the client's
 * link calls the fetch adapter's handler directly, no socket. `standalone` and `express` are real
 * node:http servers on a free port (their Node `res` is where the replay headers go); `fetch-http`
 * is the fetch adapter behind a minimal node:http bridge.
 */
export async function startTrpcApp(router: TestRouter, adapter: Adapter | 'fetch-http' = 'fetch'): Promise<TrpcApp> {
  if (adapter === 'fetch') {
    const handle = fetchHandler(router);
    return { url: 'http://trpc.test/trpc', fetch: (input, init) => handle(new Request(input, init)), close: async () => undefined };
  }
  let server: http.Server;
  if (adapter === 'standalone') {
    server = createHTTPServer({
      router,
      basePath: '/trpc/',
      createContext: ({ req, res, info }) => ({ req, res, info, tenant: tenantOf(req.headers['x-tenant']) }),
    });
  } else if (adapter === 'express') {
    const app = express();
    app.use(
      '/trpc',
      createExpressMiddleware({
        router,
        createContext: ({ req, res, info }) => ({ req, res, info, tenant: tenantOf(req.headers['x-tenant']) }),
      }),
    );
    server = http.createServer(app);
  } else {
    // The fetch adapter behind node:http: a minimal bridge from IncomingMessage to Request.
    const handle = fetchHandler(router);
    server = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
      const response = await handle(
        new Request(`http://${req.headers.host}${req.url}`, {
          method: req.method,
          headers,
          ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: Buffer.concat(chunks) }),
        }),
      );
      const out: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        out[name] = value;
      });
      res.writeHead(response.status, out);
      res.end(Buffer.from(await response.arrayBuffer()));
    });
  }
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/trpc`,
    fetch: (input, init) => fetch(input, init),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** Per-call context the test links read: the key, and the tenant header. */
export interface CallContext {
  key?: string;
  tenant?: string;
  /** Extra request headers, verbatim (malformed-header tests). */
  rawHeaders?: Record<string, string>;
  [k: string]: unknown;
}

export interface Seen {
  url: string;
  status: number;
  headers: Headers;
}

/** A real @trpc/client on an app (or a URL, over HTTP); `seen` collects every response's status and headers. */
export function client(app: TrpcApp | string, link: 'http' | 'batch', useSuperjson: boolean) {
  const seen: Seen[] = [];
  const url = typeof app === 'string' ? app : app.url;
  const send = typeof app === 'string' ? fetch : app.fetch;
  const fetchAndRecord = async (input: RequestInfo | URL, init?: RequestInit) => {
    const response = await send(input, init);
    seen.push({ url: String(input), status: response.status, headers: response.headers });
    return response;
  };
  const transformer = useSuperjson ? { transformer: superjson } : {};
  const headersOf = (ops: Operation[]) => {
    const out: Record<string, string> = {};
    const first = ops[0]?.context as CallContext | undefined;
    if (first?.tenant) out['x-tenant'] = first.tenant;
    Object.assign(out, first?.rawHeaders);
    if (link === 'http') {
      const key = (ops[0]?.context as CallContext | undefined)?.key;
      if (key !== undefined) out['idempotency-key'] = key;
    } else {
      const keys = ops.map((op) => (op.context as CallContext).key);
      if (keys.some((k) => k !== undefined)) out['idempotency-keys'] = formatBatchKeysHeader(keys);
    }
    return out;
  };
  const trpc = createTRPCClient<TestRouter>({
    links: [
      link === 'http'
        ? httpLink<TestRouter>({ url, fetch: fetchAndRecord, headers: ({ op }: { op: Operation }) => headersOf([op]), ...transformer } as never)
        : httpBatchLink<TestRouter>({ url, fetch: fetchAndRecord, headers: ({ opList }: { opList: readonly Operation[] }) => headersOf([...opList]), ...transformer } as never),
    ],
  });
  return { trpc, seen };
}

/** A short unique label for test data. */
export const uid = () => randomUUID().slice(0, 8);

/** The TRPCClientError a call fails with; throws when it succeeds or fails otherwise. */
export async function failure(promise: Promise<unknown>): Promise<TRPCClientError<any>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCClientError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}
