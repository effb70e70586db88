import { afterAll, beforeAll, describe, it } from 'vitest';
import { runHttpConformance } from '../../src/testing/index.js';
import { createOrdersApp } from './support/conformance-app.js';
import { type ServedHandler, serveFetch } from './support/conformance-server.js';
import { standIn } from './support/conformance-standin.js';

for (const inProgress of ['reject', 'wait'] as const) {
  let served: ServedHandler | undefined;
  beforeAll(async () => {
    const app = createOrdersApp();
    served = await serveFetch(standIn(app.handle, { inProgress }));
  });
  afterAll(async () => served?.close());
  runHttpConformance({ name: 'stand-in', url: () => `${served?.origin}/orders`, inProgress, describe, it });
}
