import type { Request } from 'express';
import { isJsonContentType, parsedRequestInput, pathOf, requestInput, type RequestInput } from '../http/request-input.js';

/**
 * The fingerprinted input of an Express request. After a body parser (express.json(), raw, text,
 * urlencoded) read it, it is `req.body`: parsed JSON or a form as its value, a Buffer or a string
 * as its bytes (JSON text parsed when the Content-Type is JSON). Otherwise the body is read here,
 * once: `req.body` then holds it for the handler (parsed JSON for JSON types, else a Buffer), and
 * parsers mounted later find the stream finished and leave it as it is.
 */
export async function expressInput(req: Request): Promise<RequestInput> {
  const path = pathOf(req.originalUrl ?? req.url);
  const contentType = req.headers['content-type'];
  const holder = req as Request & { _body?: boolean };
  // Read by a parser: body-parser 1.x (Express 4) marks `_body`, 2.x (Express 5) leaves the stream
  // ended. Not `req.body !== undefined`: body-parser 1.x puts `{}` there for a type it skips (text
  // after express.json()) without reading, and those bytes must count.
  if (req.readableEnded || holder._body === true) {
    const body: unknown = req.body;
    if (body === undefined || body === null) return requestInput(req.method, path, contentType, new Uint8Array(0));
    if (body instanceof Uint8Array) return requestInput(req.method, path, contentType, body);
    if (typeof body === 'string') return requestInput(req.method, path, contentType, new TextEncoder().encode(body));
    return parsedRequestInput(req.method, path, body);
  }
  const bytes = await readAll(req);
  const input = requestInput(req.method, path, contentType, bytes);
  const parsed = isJsonContentType(contentType) && !(input.body instanceof Uint8Array);
  req.body = parsed ? input.body : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // body-parser 1.x (Express 4) skips a request marked so; 2.x skips a finished stream.
  holder._body = true;
  return input;
}

function readAll(req: Request): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer | string) => chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    req.once('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.once('error', reject);
  });
}
