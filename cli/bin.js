#!/usr/bin/env node
// The `faultline` command: register tsx (TypeScript at run time) and run cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('./main.ts');
await runCli();
