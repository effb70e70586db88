import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import { type SqlBackendName, REDIS_URL, prismaClient } from './backends.js';

// Read when the bench starts: dist/ may be rebuilt (or briefly absent) by the time the report is written.
const BUILT_AT = builtAt();

/** What the numbers were measured on: CPU, memory, Node and the database servers' versions. */
export async function describeMachine(backends: string[]): Promise<string[]> {
  const lines = [
    `CPU: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}; memory ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version} (${process.platform}/${process.arch}).`,
  ];
  const versions: string[] = [];
  const queries: Record<SqlBackendName, string> = {
    postgresql: 'SELECT version() AS v',
    mariadb: 'SELECT VERSION() AS v',
    sqlite: 'SELECT sqlite_version() AS v',
  };
  for (const name of ['postgresql', 'mariadb', 'sqlite'] as const) {
    if (!backends.includes(name)) continue;
    const { client, pool } = prismaClient(name, name === 'sqlite' ? ':memory:' : undefined);
    try {
      const rows = (await client.$queryRawUnsafe(queries[name])) as { v: string }[];
      versions.push(`${name} ${String(rows[0]?.v).split(',')[0]}`);
    } catch (error) {
      versions.push(`${name} (version unknown: ${(error as Error).message.split('\n')[0]})`);
    } finally {
      await client.$disconnect();
      await pool?.end();
    }
  }
  if (backends.includes('redis')) {
    const redis = new Redis(REDIS_URL);
    try {
      const info = await redis.info('server');
      versions.push(`Redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown'}`);
    } finally {
      redis.disconnect();
    }
  }
  lines.push(`Databases (all on loopback): ${versions.join('; ')}.`);
  lines.push(`Code measured: oncely's dist/ built ${BUILT_AT}, at commit ${commit()} (the bench imports dist, as users do).`);
  return lines;
}

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? ' (src/ had uncommitted changes)' : ''}`;
  } catch {
    return 'unknown';
  }
}

function builtAt(): string {
  try {
    return statSync('dist/index.js').mtime.toISOString();
  } catch {
    return 'at an unknown time (no dist/index.js)';
  }
}
