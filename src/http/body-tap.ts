/**
 * A response body passed on to the client as it comes, and kept: once the source ends, `complete`
 * gets all its bytes, and only after `complete` settled does the client's stream end (so a client
 * that read the whole answer and retries finds it stored). If the source errors or the client
 * cancels, `abandon` runs instead and nothing is kept.
 */
export function tapBody(
  source: ReadableStream<Uint8Array>,
  complete: (body: Uint8Array) => Promise<unknown>,
  abandon: (error?: unknown) => Promise<unknown>,
  signal?: AbortSignal,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const chunks: Uint8Array[] = [];
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
    },
    async pull(controller) {
      let chunk: Uint8Array;
      try {
        const result = await reader.read();
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
