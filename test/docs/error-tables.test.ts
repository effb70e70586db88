import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IDEMPOTENCY_ERROR_STATUS } from '../../src/protocol/index.js';

// Every error code the core can raise is in each error table users read, with its HTTP status.
const root = new URL('../../', import.meta.url);
const TABLES = ['README.md', 'docs/envelop.md', 'docs/trpc.md'];

describe('error tables in the docs', () => {
  for (const file of TABLES) {
    it(`${file} lists every code with its status`, () => {
      const text = readFileSync(new URL(file, root), 'utf8');
      const rows = text.split('\n').filter((line) => line.startsWith('|'));
      const missing: string[] = [];
      for (const [code, status] of Object.entries(IDEMPOTENCY_ERROR_STATUS)) {
        // The table row is the one naming the code in a cell of its own (other rows may mention it).
        const row = rows.find((line) => line.split('|').some((cell) => cell.trim().startsWith(`\`${code}\``) || cell.trim().startsWith(`IdempotencyError \`${code}\``)));
        if (!row || !row.includes(String(status))) missing.push(`${code} (${status})`);
      }
      expect(missing, `${file} is missing rows`).toEqual([]);
    });
  }
});
