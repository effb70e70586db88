/**
 * The wire contract between oncely's clients and servers: names, the batch key header format, and
 * which answers are stored versus retried. Browser-safe: no Node and no framework imports.
 */
export * from './names.js';
export * from './batch-header.js';
export * from './answers.js';
