/**
 * A finding about the kernel (not a mutant): since 6.6 (29a22b9e08d7, userfaults under the VMA
 * lock) UFFDIO_UNREGISTER wakes the range's pending userfaults before it write-locks the VMA, so a
 * fault that passed userfaultfd_missing under the VMA read lock queues itself after the wake and
 * sleeps on a range that is no longer registered (uffd-lost-wakeup). The uffd family finds it
 * with a monitor that relies on that wake (`uffd:monitor=contract`) on every generation from v6.6;
 * v6.3 and v6.4 (uffd faults under mmap_lock) and the default defensive monitor stay clean; the
 * fix variant (impl/fixes/uffd-unregister-wake.ts: wake after the flags are cleared under the
 * write lock) is clean; test/regressions/uffd-unregister-wake.json replays.
 *
 *   |--anon rw, 4 pages, registered MISSING--|
 *   faulter: lock_vma_under_rcu → handle_userfault: vm_userfaultfd_ctx ······ queue; must_wait; release; sleep
 *   changer:               mmap_write_lock; wake_userfault(range) → nobody; vma_start_write (waits) ··· clear flags
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generationVariant } from '../../impl/sim/variant.js';
import { rebase } from '../../cli/target.js';
import { runScenario } from '../../properties/runner.js';
import { parseCounterexample } from '../../properties/counterexample.js';
import fix from '../../impl/fixes/uffd-unregister-wake.js';
import { MUTANTS } from '../../impl/bugs/index.js';
import { campaign, expectReplays } from './harness.js';

const FILE = 'test/regressions/uffd-unregister-wake.json';
const CONTRACT = 'uffd:monitor=contract';

describe('finding: UFFDIO_UNREGISTER wakes before vma_start_write (6.6+)', () => {
  for (const gen of ['v6.6', 'v6.7', 'v6.15']) {
    it(`${gen}: ${CONTRACT} finds uffd-lost-wakeup, shrunk to ≤ 3 tasks and ≤ 2 preemptions`, () => {
      const r = campaign(generationVariant(gen), CONTRACT, 600);
      const v = r.violations[0];
      expect(v?.property, `no violation in ${r.executions} executions`).toBe('uffd-lost-wakeup');
      expect(v!.tasks).toBeLessThanOrEqual(3);
      expect(v!.report.preemptions).toBeLessThanOrEqual(2);
      expect(v!.scenario.threads.some((t) => t.program.some((op) => op.op === 'uffd_unregister'))).toBe(true);
    }, 60_000);
  }

  for (const gen of ['v6.3', 'v6.4']) {
    it(`${gen} (uffd faults under mmap_lock): ${CONTRACT} is clean with the same budget`, () => {
      const r = campaign(generationVariant(gen), CONTRACT, 600);
      expect(r.violations.map((v) => `${v.property}: ${v.message}`)).toEqual([]);
      expect(r.unknown).toBe(0);
    }, 60_000);
  }

  it('v6.6 with the default (defensive) monitor is clean with the same budget', () => {
    const r = campaign(generationVariant('v6.6'), 'uffd', 600);
    expect(r.violations.map((v) => `${v.property}: ${v.message}`)).toEqual([]);
  }, 60_000);

  it('the kept counterexample replays strictly (v6.6, no monitor needed: the kernel\'s own wake is missed)', () => {
    const r = expectReplays(FILE, generationVariant('v6.6'));
    expect(r.violation!.message).toMatch(/no longer registered/);
  });

  for (const gen of ['v6.6', 'v6.15']) {
    it(`the fix variant on ${gen} is clean on ${CONTRACT}, and the kept story passes on it`, () => {
      const v = rebase(fix, gen);
      const r = campaign(v, CONTRACT, 600);
      expect(r.violations.map((x) => `${x.property}: ${x.message}`)).toEqual([]);
      expect(r.unknown).toBe(0);
      const cx = parseCounterexample(readFileSync(FILE, 'utf8'), {}, FILE);
      const replay = runScenario({ variant: v, scenario: cx.scenario, schedule: cx.schedule, strict: false });
      expect(replay.status, replay.violation?.message).toBe('pass');
    }, 60_000);
  }

  it('the fix is a variant file, not a zoo mutant', () => {
    expect(fix.name).toBe('uffd-unregister-wake-after-clear');
    expect(MUTANTS.some((m) => m.name === fix.name)).toBe(false);
  });
});
