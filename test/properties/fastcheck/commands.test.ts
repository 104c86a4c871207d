/**
 * properties/fastcheck/commands.ts: the model's actions as fc.commands against the simulation.
 * v6.6 passes; a kernel whose munmap forgets to unmap is caught (a load of the unmapped page
 * returns its old value where the model says SIGSEGV); an operation the model cannot take (a load
 * that would wait for a userfaultfd monitor) is not run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LAYOUT, defineVariant, FaultlineViolation, ModelMismatch, MmCommand, sequential } from '../../../properties/fastcheck/index.js';
import type { Task } from '../../../impl/rt/task.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'faultline-fc-seq-'));
const PAGE = 4096;
const BASE = 0x10000000 + 8 * PAGE; // the layout's first page (properties/arbitraries/layout.ts FIRST_PAGE)

describe('sequential fc.commands', () => {
  it('v6.6 refines the model step by step', () => {
    const mm = sequential({ variant: 'v6.6', counterexamples: dir });
    const r = fc.check(fc.property(fc.commands(mm.commands, { maxCommands: 8 }), (cmds) => fc.modelRun(mm.setup, cmds)), { seed: 5, numRuns: 40 });
    expect(r.failed).toBe(false);
  }, 120_000);

  it('a munmap that unmaps nothing is caught', () => {
    const broken = defineVariant({
      name: 'munmap-does-nothing', base: 'v6.6', description: 'test: munmap returns 0 and leaves the mapping',
      overrides: {
        __vm_munmap: function* (_start: number, _len: number, _unlock: boolean): Task<number> {
          yield '__vm_munmap';
          return 0;
        },
      },
    });
    const mm = sequential({ variant: broken, counterexamples: dir });
    const r = fc.check(fc.property(fc.commands(mm.commands, { maxCommands: 8 }), (cmds) => fc.modelRun(mm.setup, cmds)), { seed: 5, numRuns: 300 });
    expect(r.failed).toBe(true);
    const e = r.errorInstance;
    expect(e instanceof FaultlineViolation || e instanceof ModelMismatch).toBe(true);
    if (e instanceof FaultlineViolation) {
      expect(['linearizability', 'final-state']).toContain(e.property);
      expect(e.message).toMatch(/counterexample: \S+\.json/);
    }
    // fast-check shrank the commands to a munmap and an access of what it left mapped.
    expect(String(r.counterexample![0])).toMatch(/munmap/);
  }, 120_000);

  it('a load the model cannot take (it would wait for the userfaultfd monitor) is not run', () => {
    const layout = { ...DEFAULT_LAYOUT, regions: [{ ...DEFAULT_LAYOUT.regions[0]!, populated: 0, uffd: true }] };
    const mm = sequential({ variant: 'v6.6', layout, counterexamples: dir });
    const { model } = mm.setup();
    expect(new MmCommand({ op: 'load', pid: 1, addr: BASE }).check(model)).toBe(false);
    expect(new MmCommand({ op: 'munmap', pid: 1, addr: BASE + 64 * PAGE, len: PAGE }).check(model)).toBe(true);
  });
});
