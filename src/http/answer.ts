/**
 * An HTTP answer as plain data (status, header pairs, body bytes), so that the fetch handler, Hono
 * and Express write the same replays and problems, each in its own way.
 */
export interface HttpAnswer {
  status: number;
  headers: ReadonlyArray<readonly [string, string]>;
  body: Uint8Array;
}

/** The answer as a fetch Response. */
export function toResponse(answer: HttpAnswer): Response {
  const headers = new Headers();
  for (const [name, value] of answer.headers) headers.append(name, value);
  // 1xx, 204, 205 and 304 have no body: a Response with one would throw.
  const body = answer.body.byteLength === 0 || NULL_BODY.has(answer.status) ? null : answer.body;
  return new Response(body as BodyInit | null, { status: answer.status, headers });
}

const NULL_BODY: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);
