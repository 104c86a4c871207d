export * from './ops.js';
export * from './state.js';
export * from './spec.js';
export * from './invariants.js';
export type { Action, Blocked } from './action.js';
