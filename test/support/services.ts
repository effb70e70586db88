import net from 'node:net';

/** Connection settings of the test databases; override with the environment variables. */
export const services = {
  postgres: {
    url: process.env.ONCELY_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test',
    host: '127.0.0.1',
    port: 5432,
  },
  mariadb: {
    url: process.env.ONCELY_TEST_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306/test',
    host: '127.0.0.1',
    port: 3306,
  },
  redis: {
    url: process.env.ONCELY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    host: '127.0.0.1',
    port: 6379,
  },
} as const;

export type ServiceName = keyof typeof services;

export function portOpen(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** CI (or ONCELY_REQUIRE_SERVICES=1) turns a missing service into a failure instead of a skip. */
export const servicesRequired = process.env.CI === 'true' || process.env.CI === '1' || process.env.ONCELY_REQUIRE_SERVICES === '1';
