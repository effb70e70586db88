import { describe, it } from 'vitest';
import { MemoryStore } from '../../src/index.js';
import { runStoreContract } from '../../src/testing/index.js';

// The whole contract, steps included, on the store every engine test uses.
runStoreContract({ name: 'MemoryStore', store: () => new MemoryStore(), describe, it });
