import { createServer } from 'node:http';
import { openDemoDatabase } from '../shared/db.js';
import { createYogaApp } from './app.js';

const db = await openDemoDatabase();
const yoga = createYogaApp({ db });
const port = Number(process.env.PORT ?? 4000);

createServer(yoga).listen(port, () => {
  const url = `http://localhost:${port}${yoga.graphqlEndpoint}`;
  console.log(`oncely Yoga example (${db.provider}) on ${url}`);
  console.log(`Try it:
  curl -s ${url} -H 'content-type: application/json' -H 'Idempotency-Key: order-1' \\
    -d '{"query":"mutation { placeOrder(input: {customer: \\"ada\\", item: \\"coffee\\", quantity: 2}) { id amount } }"}'`);
});
