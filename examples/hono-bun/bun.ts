// The part of Bun's global this example uses, typed here (the project does not install bun-types).

export interface BunServer {
  readonly port: number;
  readonly hostname: string;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

export interface ServeOptions {
  hostname?: string;
  /** 0: any free port. */
  port?: number;
  fetch(request: Request): Response | Promise<Response>;
}

interface BunGlobal {
  version: string;
  serve(options: ServeOptions): BunServer;
}

/** Bun's global, or a clear error when this runs elsewhere. */
export function bun(): BunGlobal {
  const found = (globalThis as { Bun?: BunGlobal }).Bun;
  if (!found) throw new Error('examples/hono-bun runs on Bun: npx bun examples/hono-bun/server.ts');
  return found;
}
