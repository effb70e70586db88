type Read = ReadableStreamReadResult<Uint8Array>;

/** A body as far as it was there at once: its reader, the chunks read, and the read still pending. */
export interface BodyStart {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  chunks: Uint8Array[];
  /** The source ended: `chunks` are the whole body. */
  done: boolean;
  /** Not done: the read that did not answer at once (it may also fail). */
  pending?: Promise<Read>;
}

const LATER = Symbol('later');

/** `read`, or LATER when it has not settled by the next macrotask. */
function atOnce(read: Promise<Read>): Promise<Read | typeof LATER> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const later = new Promise<typeof LATER>((resolve) => {
    timer = setTimeout(() => resolve(LATER), 0);
  });
  return Promise.race([read, later]).finally(() => clearTimeout(timer));
}

/**
 * Reads what a body has at once. A body made from text, bytes or JSON (most answers) is whole
 * within a tick and is then sent as bytes: servers send a fixed body much faster than a stream
 * (over @hono/node-server about 1.2 ms less per request). A body still coming stays a stream.
 */
export async function readAvailable(source: ReadableStream<Uint8Array>): Promise<BodyStart> {
  const reader = source.getReader();
  const chunks: Uint8Array[] = [];
  for (;;) {
    const read = reader.read();
    let result: Read | typeof LATER;
    try {
      result = await atOnce(read);
      if (result !== LATER && !result.done) chunks.push(asBytes(result.value));
    } catch {
      // A failing source (or chunk) is the stream's to report, as it is for a later failure.
      const failed = read.then((r) => (r.done ? r : (asBytes(r.value), r)));
      failed.catch(() => undefined);
      return { reader, chunks, done: false, pending: failed };
    }
    if (result === LATER) return { reader, chunks, done: false, pending: read };
    if (result.done) return { reader, chunks, done: true };
  }
}

/**
 * A response body passed on to the client as it comes, and kept: once the source ends, `complete`
 * gets all its bytes, and only after `complete` settled does the client's stream end (so a client
 * that read the whole answer and retries finds it stored). If the source errors or the client
 * cancels, `abandon` runs instead and nothing is kept. `start` is what readAvailable read.
 */
export function tapBody(
  start: BodyStart,
  complete: (body: Uint8Array) => Promise<unknown>,
  abandon: (error?: unknown) => Promise<unknown>,
  signal?: AbortSignal,
): ReadableStream<Uint8Array> {
  const { reader } = start;
  let pending = start.pending;
  const chunks: Uint8Array[] = [...start.chunks];
  let finished = false;
  const giveUp = async (reason?: unknown): Promise<void> => {
    if (finished) return;
    finished = true;
    await reader.cancel(reason).catch(() => undefined);
    await abandon().catch(() => undefined);
  };
  // Some runtimes never cancel the body when the client leaves (workerd stops the request
  // instead), but abort the request's signal: the key is then given back at once, not when its
  // lease runs out. Aborted after completion (a server closing the exchange), it changes nothing.
  let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
  const onAbort = (): void => {
    if (finished) return;
    void giveUp(signal?.reason);
    // Whoever still reads gets an error rather than a stream that never ends.
    try {
      stream?.error(signal?.reason);
    } catch {
      // already closed
    }
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return new ReadableStream<Uint8Array>({
    start(controller) {
      stream = controller;
      if (finished) controller.error(signal?.reason);
      else for (const chunk of start.chunks) controller.enqueue(chunk);
    },
    async pull(controller) {
      let chunk: Uint8Array;
      try {
        const read = pending ?? reader.read();
        pending = undefined;
        const result = await read;
        // Cancelled while this read was pending: the cancel gave the claim back already.
        if (finished) return;
        if (result.done) {
          finished = true;
          await complete(concat(chunks));
          controller.close();
          return;
        }
        chunk = asBytes(result.value);
      } catch (error) {
        if (!finished) {
          finished = true;
          await abandon(error).catch(() => undefined);
        }
        controller.error(error);
        return;
      }
      chunks.push(chunk);
      controller.enqueue(chunk);
    },
    cancel: giveUp,
  });
}

/** A whole body read at once (the Express adapter's chunks, a body already in memory). */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let size = 0;
  for (const chunk of chunks) size += chunk.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

function asBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError('oncely/http: a response body chunk must be a Uint8Array.');
}
