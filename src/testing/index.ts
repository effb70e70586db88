export { runStoreContract, sampleRecord } from './contract.js';
export type { ContractRunner, StoreContractOptions } from './contract.js';
