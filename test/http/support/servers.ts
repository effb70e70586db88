/**
 * Real HTTP servers for the specs, on 127.0.0.1 and a free port: a fetch handler behind plain
 * node:http (the bridge below), a Hono app behind @hono/node-server, an Express app.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Express } from 'express';

export interface Served {
  origin: string;
  close(): Promise<void>;
}

async function listening(server: http.Server): Promise<Served> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return served(server);
}

/** A listening server's origin, and a close that does not wait for keep-alive connections. */
function served(server: http.Server): Served {
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** node:http in front of a fetch handler: the request as a Request, the Response streamed back. */
export function serveFetchHandler(handler: (request: Request) => Promise<Response>): Promise<Served> {
  const server = http.createServer(async (req, res) => {
    const controller = new AbortController();
    res.once('close', () => controller.abort());
    try {
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      const request = new Request(`http://${req.headers.host}${req.url}`, {
        method: req.method,
        headers,
        signal: controller.signal,
        ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
      } as RequestInit);
      const response = await handler(request);
      res.writeHead(response.status, [...response.headers].flat());
      if (!response.body) return void res.end();
      const reader = response.body.getReader();
      res.once('close', () => {
        if (!res.writableFinished) void reader.cancel().catch(() => undefined);
      });
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!res.write(value)) await once(res, 'drain');
      }
      res.end();
    } catch {
      // A broken body: the client sees the connection cut mid-answer.
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    }
  });
  return listening(server);
}

export async function serveHono(app: Hono<any>): Promise<Served> {
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as http.Server;
  if (!server.listening) await once(server, 'listening');
  return served(server);
}

export function serveExpress(app: Express): Promise<Served> {
  return listening(http.createServer(app));
}
