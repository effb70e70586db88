import { ConfigurationError } from '../core/errors.js';
import type { RedisClientLike, RedisSubscriberLike } from './client.js';

/*
 * node-redis (the `redis` / `@redis/client` package, v5 and later) behind the store's
 * RedisClientLike. Typed structurally, like RedisClientLike, so that this package never imports
 * node-redis at runtime or in its type declarations.
 */

type Listener = (...args: unknown[]) => void;

/** What the adapter uses of a node-redis client or cluster, besides how each sends a command. */
interface NodeRedisCommon {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  /** node-redis: `(message, channel)` for each message on the channel. */
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: string, listener: Listener): unknown;
  once(event: string, listener: Listener): unknown;
  removeListener(event: string, listener: Listener): unknown;
  /** Closes at once (node-redis v5+). */
  destroy(): void;
}

/** Per-command options the adapter passes (node-redis' CommandOptions). */
export interface NodeRedisCommandOptions {
  timeout?: number;
}

/** A node-redis client: `createClient(...)` (connected by you). */
export interface NodeRedisClientLike extends NodeRedisCommon {
  sendCommand(args: string[], options?: NodeRedisCommandOptions): Promise<unknown>;
  duplicate(): NodeRedisClientLike;
}

/** A node-redis cluster: `createCluster(...)` (connected by you). */
export interface NodeRedisClusterLike extends NodeRedisCommon {
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[], options?: NodeRedisCommandOptions): Promise<unknown>;
  duplicate(): NodeRedisClusterLike;
  getSlotMaster(slot: number): unknown;
}

/**
 * Wraps a connected node-redis client or cluster for `new RedisStore({ client: fromNodeRedis(client) })`.
 * Your client stays yours (the store never closes it); the store's pub/sub connection is a
 * `duplicate()` of it, opened on first use and closed by `store.close()`.
 *
 * Commands always go to the master of the key's slot (never `isReadonly`, so never to a replica
 * that may lag). While the client is not ready (connecting or reconnecting) the store waits for it
 * within `commandTimeout`, then fails; node-redis does not tell a first connection from a reconnect.
 */
export function fromNodeRedis(client: NodeRedisClientLike | NodeRedisClusterLike): RedisClientLike {
  if (!client || typeof client.sendCommand !== 'function' || typeof client.duplicate !== 'function') {
    throw new ConfigurationError('fromNodeRedis needs a node-redis client (createClient) or cluster (createCluster).');
  }
  return wrap(client);
}

function isCluster(client: NodeRedisClientLike | NodeRedisClusterLike): client is NodeRedisClusterLike {
  return typeof (client as Partial<NodeRedisClusterLike>).getSlotMaster === 'function';
}

/** The key a command (`argv`, its name first) routes by in a Cluster: the first key of a script, else the first argument. */
function firstKey(argv: string[]): string | undefined {
  const name = (argv[0] as string).toUpperCase();
  if (name === 'EVALSHA' || name === 'EVAL') return Number(argv[2]) > 0 ? argv[3] : undefined;
  if (name === 'TIME' || name === 'PING') return undefined;
  return argv[1];
}

/**
 * node-redis (v6) gives every command a timeout of its own, 5 s unless configured, made of an
 * AbortSignal.timeout and two listeners per command: about 3 µs of CPU per command, paid twice by
 * every first execution. The store bounds every call itself (commandTimeout, see bound.ts) and
 * every step is harmless when it runs late, as with ioredis, which has no per-command timeout by
 * default; so the store's commands are sent without node-redis' default one. A timeout set on
 * the client (`commandOptions.timeout` in its options, or `client.withCommandOptions({ timeout })`)
 * is kept.
 */
const WITHOUT_DEFAULT_TIMEOUT: NodeRedisCommandOptions = Object.freeze({ timeout: 0 });

// node-redis' own default (lib/defaults.js), which a client without a timeout of its own carries.
const NODE_REDIS_DEFAULT_TIMEOUT = 5000;

function commandOptionsFor(client: NodeRedisClientLike | NodeRedisClusterLike): NodeRedisCommandOptions | undefined {
  type Options = { commandOptions?: NodeRedisCommandOptions } | undefined;
  // A client exposes its options as `options`, a cluster as `_options`; a handle from
  // `client.withCommandOptions({ timeout })` carries its timeout in `_commandOptions` only.
  const given = client as unknown as { options?: Options; _options?: Options; _commandOptions?: NodeRedisCommandOptions };
  const configured = (given.options ?? given._options)?.commandOptions?.timeout;
  const handle = given._commandOptions?.timeout;
  const own = configured !== undefined || (handle !== undefined && handle !== NODE_REDIS_DEFAULT_TIMEOUT);
  return own ? undefined : WITHOUT_DEFAULT_TIMEOUT;
}

function wrap(client: NodeRedisClientLike | NodeRedisClusterLike): RedisClientLike & RedisSubscriberLike {
  const cluster = isCluster(client);
  // The cluster announces readiness as "connect"; a single client as "ready". "close" is "end" for both.
  const eventName = (event: 'ready' | 'close') => (event === 'ready' ? (cluster ? 'connect' : 'ready') : 'end');
  const messageListeners = new Set<(channel: string, message: string) => void>();
  const onMessage = (message: string, channel: string) => {
    for (const listener of messageListeners) listener(channel, message);
  };
  const options = commandOptionsFor(client);
  const wrapped: RedisClientLike & RedisSubscriberLike = {
    call(command, ...args) {
      // node-redis takes strings only; one array, the command's name first.
      const argv = [command];
      for (const arg of args) argv.push(String(arg));
      return cluster
        ? (client as NodeRedisClusterLike).sendCommand(firstKey(argv), false, argv, options)
        : (client as NodeRedisClientLike).sendCommand(argv, options);
    },
    duplicate() {
      // The store's own subscriber connection: opened now (the first SUBSCRIBE waits for it within
      // commandTimeout). A failed connect is reported as an 'error' event, which the store listens to.
      const copy = client.duplicate();
      copy.on('error', () => undefined);
      copy.connect().catch(() => undefined);
      return wrap(copy);
    },
    get status() {
      return client.isReady ? 'ready' : client.isOpen ? 'connecting' : 'end';
    },
    once(event, listener) {
      return client.once(eventName(event), listener);
    },
    removeListener(event, listener) {
      return client.removeListener(eventName(event), listener);
    },
    subscribe(...channels) {
      return Promise.all(channels.map((channel) => client.subscribe(channel, onMessage)));
    },
    unsubscribe(...channels) {
      return Promise.all(channels.map((channel) => client.unsubscribe(channel)));
    },
    on(event: 'message' | 'error', listener: ((channel: string, message: string) => void) | ((error: Error) => void)) {
      if (event === 'message') messageListeners.add(listener as (channel: string, message: string) => void);
      else client.on('error', listener as Listener);
      return undefined;
    },
    disconnect() {
      if (client.isOpen) client.destroy();
    },
  };
  return wrapped;
}
