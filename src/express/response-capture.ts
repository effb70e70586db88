import type { Response } from 'express';

/** What the handler wrote: status, headers and the body bytes, once it ended. */
export interface CapturedResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

type End = Response['end'];
type Write = Response['write'];

/**
 * Watches what is written to `res` (write, end, and so json and send) while passing it on, and
 * calls `finish` with the whole answer before the real end, so that a client that has the whole
 * answer and retries finds it stored. `abandon` runs if the connection closes before the end.
 */
export function captureResponse(res: Response, finish: (answer: CapturedResponse) => Promise<unknown>, abandon: () => Promise<unknown>): void {
  const chunks: Buffer[] = [];
  const write: Write = res.write;
  const end: End = res.end;
  let ended = false;
  res.write = function (this: Response, chunk: unknown, ...rest: unknown[]) {
    keep(chunks, chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Write;
  res.end = function (this: Response, ...args: unknown[]) {
    if (ended) return (end as (...a: unknown[]) => Response).apply(this, args);
    const chunk = typeof args[0] === 'function' ? undefined : args[0];
    // A chunk Node refuses (a Uint16Array, a number): the real end throws to the handler now, as
    // without oncely, and nothing is stored (the key is given back when the connection closes).
    if (!isChunk(chunk)) return (end as (...a: unknown[]) => Response).apply(this, args);
    ended = true;
    keep(chunks, chunk, typeof args[1] === 'string' ? args[1] : undefined);
    res.write = write;
    res.end = end;
    const answer: CapturedResponse = { status: res.statusCode, headers: headerPairs(res), body: new Uint8Array(Buffer.concat(chunks)) };
    const real = () => {
      try {
        (end as (...a: unknown[]) => Response).apply(res, args);
      } catch (error) {
        // Nobody is left to catch it (the handler returned): end the exchange instead of the process.
        res.destroy(error as Error);
      }
    };
    finish(answer).then(real, real);
    return res;
  } as End;
  res.once('close', () => {
    if (!ended) void abandon().catch(() => undefined);
  });
}

function isChunk(chunk: unknown): boolean {
  return chunk === undefined || chunk === null || typeof chunk === 'string' || chunk instanceof Uint8Array;
}

function keep(chunks: Buffer[], chunk: unknown, encoding: unknown): void {
  if (chunk === undefined || chunk === null) return;
  if (typeof chunk === 'string') chunks.push(Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
  else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
}

function headerPairs(res: Response): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(res.getHeaders())) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) pairs.push([name, String(item)]);
  }
  return pairs;
}
