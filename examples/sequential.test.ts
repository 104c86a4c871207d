/**
 * A sequential model-based test, fast-check's fc.commands / fc.modelRun: one thread's mm
 * operations on v6.6, each enabled by the model (its precondition), run against the simulation,
 * its result compared with the model's.
 */
import fc from 'fast-check';
import { test } from '@fast-check/vitest';
import { sequential } from 'faultline';

const mm = sequential({ variant: 'v6.6' });

test.prop([fc.commands(mm.commands, { maxCommands: 8 })], { seed: 3, numRuns: 60 })('v6.6 against the model, one thread', (cmds) => {
  fc.modelRun(mm.setup, cmds);
});
