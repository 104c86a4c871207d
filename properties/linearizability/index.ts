export * from './history.js';
export * from './partition.js';
export * from './checker.js';
