/**
 * PrismaMariaDb takes connection options, not a URL: this turns a mysql:// or mariadb:// URL into
 * them (for the examples, the tests and the benchmarks alike).
 */
export function mariadbOptions(url: string, connectionLimit: number) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
    connectionLimit,
  };
}
