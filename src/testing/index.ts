export { runStoreContract, sampleRecord } from './contract.js';
export type { ContractRunner, StoreContractOptions } from './contract.js';
export { runHttpConformance } from './http-conformance.js';
export type { HttpConformanceOptions, HttpConformanceRunner } from './http-conformance.js';
