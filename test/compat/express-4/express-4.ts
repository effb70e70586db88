/**
 * This folder's Express 4 (its own package.json and lockfile), loaded by Node from this folder's
 * node_modules: a bare `import 'express'` elsewhere in the suite gets the main project's Express 5.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

// Typed with @types/express (Express 5): the API used here is the same in 4.
export const express = require('express') as typeof import('express');
/** The version of the express package `express` above was loaded from. */
export const expressVersion = (require('express/package.json') as { version: string }).version;
/** Where `express` was loaded from (a file under this folder's node_modules). */
export const expressEntry = require.resolve('express');
export const fixtureDir = fileURLToPath(new URL('.', import.meta.url));
