/**
 * The few client methods the Redis store uses, typed structurally so that an ioredis `Redis`, an
 * ioredis `Cluster` (v5 or v6) or a thin wrapper around another client all fit without this
 * package importing a client at runtime.
 *
 * Everything goes through `call` (a raw command) so that replies have one shape whatever the RESP
 * protocol version: the store only sends EVALSHA/EVAL, and every script returns plain integers or
 * flat arrays of strings.
 */
export interface RedisClientLike {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** A new connection with the same options; the store subscribes to change notifications on it. */
  duplicate(): RedisSubscriberLike;
  /**
   * Optional, read when present (ioredis has them): the connection `status` ("ready",
   * "connecting", "reconnecting", ...) and its "ready"/"close" events. With them the store fails
   * at once while the connection is down and waits (within `commandTimeout`) while it is being set
   * up, instead of handing the client a command to queue.
   */
  readonly status?: string;
  once?(event: 'ready' | 'close', listener: () => void): unknown;
  removeListener?(event: 'ready' | 'close', listener: () => void): unknown;
}

/** A connection in subscriber mode (ioredis: a duplicate of the client). */
export interface RedisSubscriberLike {
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  /** 'message' gets (channel, message); 'error' gets the connection error. */
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  disconnect(): void;
  /** Optional, as on RedisClientLike. */
  readonly status?: string;
  once?(event: 'ready' | 'close', listener: () => void): unknown;
  removeListener?(event: 'ready' | 'close', listener: () => void): unknown;
}
