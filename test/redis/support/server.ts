import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ping, portFree, waitFor } from './cluster.js';

const REDIS_SERVER = process.env.ONCELY_REDIS_SERVER ?? 'redis-server';

/**
 * One throwaway standalone redis-server on a free loopback port, AOF on with fsync on every write,
 * so that a kill and restart keeps every record (the outage tests count executions across it).
 * Only this process is ever signalled: never the machine's own Redis.
 *
 * - kill(): SIGKILL. Until restart(), connections are refused (nothing listens on the port).
 * - freeze(): SIGSTOP. The kernel still accepts connections and buffers what clients send, but
 *   nothing answers: a blackhole. thaw() (SIGCONT) then runs every buffered command, late.
 */
export class ThrowawayRedis {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<ThrowawayRedis> {
    let port = 0;
    for (let i = 0; i < 50 && port === 0; i++) {
      const candidate = 20_000 + Math.floor(Math.random() * 30_000);
      if (await portFree(candidate)) port = candidate;
    }
    if (port === 0) throw new Error('no free port for a throwaway redis-server');
    const server = new ThrowawayRedis(port, mkdtempSync(join(tmpdir(), 'oncely-redis-outage-')));
    // If the test process dies first, take the server down with it.
    process.once('exit', () => server.child?.kill('SIGKILL'));
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--logfile', join(this.dir, 'redis.log')],
      { stdio: 'ignore' },
    );
    child.on('error', () => undefined); // reported by the ping timeout instead
    this.child = child;
    await waitFor(() => ping(this.port), 10_000, `redis-server on ${this.port} up`);
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT'); // a frozen process dies on SIGKILL too, but never leave one stopped
    child.kill('SIGKILL');
    await exited;
  }

  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
