import http from 'node:http';
import { createTrpcApp } from './app.js';

const port = Number(process.env.PORT ?? 4001);
const app = await createTrpcApp();
const server = http.createServer(app.handler);
server.listen(port, () => {
  console.log(`oncely tRPC shop on http://localhost:${port}/trpc (${app.database.provider})`);
  console.log('Mutations placeOrder, payOrder and checkout need an Idempotency-Key header; try the same key twice.');
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    void app.close().then(() => process.exit(0));
  });
}
