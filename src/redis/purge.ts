import type { RedisClientLike } from './client.js';
import type { KeyLayout } from './keys.js';
import { candidatesScript, purgeScript } from './lua.js';

interface Candidate {
  bucket: number;
  id: string;
  score: number;
}

interface BucketPage {
  entries: Candidate[];
  exhausted: boolean;
}

/**
 * purgeExpired over the bucket indexes: picks the `limit` records with the oldest purge time
 * across all buckets, then deletes them bucket by bucket, each bucket in one script (one slot).
 *
 * Picking reads a small page of every bucket and reads further only in buckets whose page ended
 * below the current cut-off, so a purge of 1000 over 256 buckets does not read 256 000 entries.
 * Rounds repeat while the deletes fall short only because Redis had already expired some records
 * (their index entries are dropped), so a batch is not cut short by leftovers.
 */
export async function purgeBuckets(client: RedisClientLike, layout: KeyLayout, now: number, limit: number): Promise<number> {
  let deleted = 0;
  for (let round = 0; deleted < limit && round < 100; round++) {
    const chosen = await oldestCandidates(client, layout, now, limit - deleted);
    if (chosen.length === 0) break;
    const outcome = await deleteCandidates(client, layout, now, chosen);
    deleted += outcome.deleted;
    if (outcome.deleted + outcome.dropped === 0) break; // everything listed changed meanwhile
  }
  return deleted;
}

async function oldestCandidates(client: RedisClientLike, layout: KeyLayout, now: number, limit: number): Promise<Candidate[]> {
  const pageSize = Math.max(8, Math.ceil((2 * limit) / layout.buckets));
  const pages: BucketPage[] = await Promise.all(
    Array.from({ length: layout.buckets }, async (_, bucket) => {
      const entries = await readPage(client, layout, bucket, now, 0, pageSize);
      return { entries, exhausted: entries.length < pageSize };
    }),
  );
  for (;;) {
    const chosen = pages.flatMap((p) => p.entries).sort((a, b) => a.score - b.score).slice(0, limit);
    // With fewer than `limit` candidates every unread entry could still make the cut.
    const cutoff = chosen.length === limit ? (chosen[limit - 1] as Candidate).score : Number.POSITIVE_INFINITY;
    const short = pages
      .map((page, bucket) => ({ page, bucket }))
      .filter(({ page }) => !page.exhausted && (page.entries.at(-1)?.score ?? Number.NEGATIVE_INFINITY) <= cutoff);
    if (short.length === 0) return chosen;
    await Promise.all(
      short.map(async ({ page, bucket }) => {
        const count = Math.max(pageSize, page.entries.length);
        const more = await readPage(client, layout, bucket, now, page.entries.length, count);
        page.entries.push(...more);
        page.exhausted = more.length < count;
      }),
    );
  }
}

async function readPage(client: RedisClientLike, layout: KeyLayout, bucket: number, now: number, offset: number, count: number): Promise<Candidate[]> {
  const reply = (await candidatesScript.run(client, [layout.indexKey(bucket)], [String(now), offset, count])) as unknown[];
  const entries: Candidate[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) entries.push({ bucket, id: String(reply[i]), score: Number(reply[i + 1]) });
  return entries;
}

async function deleteCandidates(client: RedisClientLike, layout: KeyLayout, now: number, chosen: Candidate[]) {
  const byBucket = new Map<number, string[]>();
  for (const c of chosen) byBucket.set(c.bucket, [...(byBucket.get(c.bucket) ?? []), c.id]);
  const results = await Promise.all(
    [...byBucket].map(async ([bucket, ids]) => {
      const keys = [layout.indexKey(bucket), ...ids.map((id) => layout.recordKey(bucket, id))];
      return (await purgeScript.run(client, keys, [String(now), ...ids])) as [number, number];
    }),
  );
  return results.reduce((sum, [deleted, dropped]) => ({ deleted: sum.deleted + Number(deleted), dropped: sum.dropped + Number(dropped) }), {
    deleted: 0,
    dropped: 0,
  });
}

/** Due index entries read per request while counting. */
const COUNT_PAGE = 1000;

/**
 * countExpired over the bucket indexes: per bucket, pages of the entries due by `now`, each page
 * checked with one EXISTS of its records (one slot: they share the bucket's hash tag), so entries
 * whose record Redis already deleted are not counted. The index score is the record's purge time,
 * rewritten by every script that changes it, so a due entry with a record is a purgeable record.
 */
export async function countBuckets(client: RedisClientLike, layout: KeyLayout, now: number): Promise<number> {
  const counts = await Promise.all(
    Array.from({ length: layout.buckets }, async (_, bucket) => {
      let count = 0;
      for (let offset = 0; ; offset += COUNT_PAGE) {
        const page = await readPage(client, layout, bucket, now, offset, COUNT_PAGE);
        if (page.length > 0) count += Number(await client.call('EXISTS', ...page.map((c) => layout.recordKey(bucket, c.id))));
        if (page.length < COUNT_PAGE) return count;
      }
    }),
  );
  return counts.reduce((sum, n) => sum + n, 0);
}
