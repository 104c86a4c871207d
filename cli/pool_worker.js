// The entry of a worker thread of cli/pool.ts: register tsx (TypeScript at run time), then load
// the worker's task loop. A plain .js file so that it starts the same under `node cli/bin.js`,
// `tsx cli/main.ts` and vitest.
import { register } from 'tsx/esm/api';

register();
await import('./pool_worker_main.ts');
