import { startWebDemo } from './app.js';

// `npm start` builds the package and the page, then runs this. Port: env PORT, default 3000.
const demo = await startWebDemo();
console.log(`oncely web demo (${demo.database.provider}): ${demo.url}`);
console.log('  GraphQL (Yoga) at /graphql, tRPC at /trpc/, one shared database. Ctrl-C stops it.');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void demo.close().then(() => process.exit(0));
  });
}
