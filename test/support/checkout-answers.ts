import { expect } from 'vitest';

/** What the checkout examples' tests compare between a first answer and its replays. */
export interface Answer {
  status: number;
  body: string;
  location: string | null;
  contentType: string | null;
  replayed: string | null;
}

export async function answer(response: Response): Promise<Answer> {
  return {
    status: response.status,
    body: await response.text(),
    location: response.headers.get('Location'),
    contentType: response.headers.get('Content-Type'),
    replayed: response.headers.get('Idempotent-Replayed'),
  };
}

/** Exactly one answer ran the checkout (201); every other is the same status, body and headers, marked as a replay. Returns the one that ran. */
export function assertReplayedAnswers(answers: Answer[]): Answer {
  const ran = answers.filter((a) => a.replayed === null);
  expect(ran, 'exactly one answer came from running the checkout').toHaveLength(1);
  const original = ran[0]!;
  expect(original.status).toBe(201);
  for (const a of answers) {
    expect({ status: a.status, body: a.body, location: a.location, contentType: a.contentType }).toEqual({
      status: original.status,
      body: original.body,
      location: original.location,
      contentType: original.contentType,
    });
    if (a !== original) expect(a.replayed).toBe('true');
  }
  return original;
}
