// Loaded with `node --import`: installs resolve-graphql.mjs before the server's first import.
import { register } from 'node:module';

register('./resolve-graphql.mjs', import.meta.url);
