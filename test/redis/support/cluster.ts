import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';

const run = promisify(execFile);
const REDIS_SERVER = process.env.ONCELY_REDIS_SERVER ?? 'redis-server';
const REDIS_CLI = process.env.ONCELY_REDIS_CLI ?? 'redis-cli';

export interface ClusterNodeProcess {
  port: number;
  dir: string;
  process: ChildProcess;
}

/**
 * A throwaway Redis Cluster on loopback ports: `masters` masters with `replicasPerMaster` replicas
 * each, AOF on with fsync on every write (appendfsync always), RDB snapshots off, data in a temp
 * directory that stop() removes.
 */
export class TestCluster {
  readonly nodes: ClusterNodeProcess[] = [];
  private root = '';

  static async start(masters = 3, replicasPerMaster = 1): Promise<TestCluster> {
    const cluster = new TestCluster();
    try {
      await cluster.boot(masters * (1 + replicasPerMaster), replicasPerMaster);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get ports(): number[] {
    return this.nodes.map((n) => n.port);
  }

  client(): Cluster {
    return new Cluster(
      this.ports.slice(0, 3).map((port) => ({ host: '127.0.0.1', port })),
      { redisOptions: { maxRetriesPerRequest: 5 }, retryDelayOnFailover: 200, retryDelayOnClusterDown: 200, retryDelayOnTryAgain: 200 },
    );
  }

  /** A plain connection to one node. */
  node(port: number): Redis {
    return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  }

  /** Kills the node at `port` with SIGKILL (a crash: no shutdown save) and starts it again on the same data. */
  async crashAndRestart(port: number): Promise<void> {
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no node on port ${port}`);
    const exited = new Promise<void>((resolve) => node.process.once('exit', () => resolve()));
    node.process.kill('SIGKILL');
    await exited;
    node.process = this.launch(port, node.dir);
    await waitFor(() => ping(port), 10_000, `node ${port} back after restart`);
    await this.waitUntilHealthy();
  }

  /** Every node reports cluster_state:ok and every replica is in sync with its master. */
  async waitUntilHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        for (const port of this.ports) {
          const conn = this.node(port);
          try {
            const info = String(await conn.call('CLUSTER', 'INFO'));
            if (!info.includes('cluster_state:ok')) return false;
            const repl = String(await conn.call('INFO', 'replication'));
            if (repl.includes('role:slave') && !repl.includes('master_link_status:up')) return false;
          } catch {
            return false;
          } finally {
            conn.disconnect();
          }
        }
        return true;
      },
      timeoutMs,
      'cluster healthy',
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(
        (node) =>
          new Promise<void>((resolve) => {
            if (node.process.exitCode !== null || node.process.signalCode !== null) return resolve();
            node.process.once('exit', () => resolve());
            node.process.kill('SIGKILL');
          }),
      ),
    );
    if (this.root) rmSync(this.root, { recursive: true, force: true });
  }

  private async boot(count: number, replicasPerMaster: number): Promise<void> {
    this.root = mkdtempSync(join(tmpdir(), 'oncely-redis-cluster-'));
    // If the test process dies before stop(), take the servers down with it.
    process.once('exit', () => {
      for (const node of this.nodes) node.process.kill('SIGKILL');
    });
    const ports = await freePorts(count);
    for (const port of ports) {
      const dir = join(this.root, String(port));
      mkdirSync(dir);
      this.nodes.push({ port, dir, process: this.launch(port, dir) });
    }
    for (const port of ports) await waitFor(() => ping(port), 10_000, `node ${port} up`);
    await run(
      REDIS_CLI,
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'],
      { timeout: 30_000 },
    );
    await this.waitUntilHealthy();
  }

  private launch(port: number, dir: string): ChildProcess {
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--cluster-enabled', 'yes',
      '--cluster-config-file', 'nodes.conf',
      // Long enough that a crash-and-restart does not trigger an automatic failover.
      '--cluster-node-timeout', '5000',
      '--appendonly', 'yes',
      '--appendfsync', 'always',
      '--save', '',
      '--daemonize', 'no',
      '--logfile', join(dir, 'redis.log'),
    ];
    const child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    child.on('error', () => undefined); // reported by the ping timeout instead
    return child;
  }
}

/** Whether this machine can run a test cluster at all. */
export async function redisServerInstalled(): Promise<boolean> {
  try {
    await run(REDIS_SERVER, ['--version'], { timeout: 5000 });
    await run(REDIS_CLI, ['--version'], { timeout: 5000 });
    return true;
  } catch {
    return existsSync('/usr/bin/redis-server') && existsSync('/usr/bin/redis-cli');
  }
}

export async function ping(port: number): Promise<boolean> {
  const conn = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  conn.on('error', () => undefined);
  try {
    await conn.connect();
    return (await conn.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    conn.disconnect();
  }
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}

/** Ports whose cluster bus port (port + 10000) is free too. */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (ports.includes(port) || ports.includes(port + 10_000) || ports.includes(port - 10_000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) ports.push(port);
  }
  return ports;
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
