/**
 * The zoo mutant swapoff-race (impl/bugs/swapoff-race.ts: do_swap_page without
 * get_swap_device/put_swap_device, 2799e77529c2 reverted) on its family swapoff: found by the
 * portfolio as a KASAN use-after-free of the swap cache swapoff freed, the base configuration
 * clean on the same budget, and test/regressions/swapoff-race.json replays.
 */
import { describe, expect, it } from 'vitest';
import { defineVariant, generationVariant } from '../../impl/sim/variant.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import { runScenario } from '../../properties/runner.js';
import { campaign, expectBaseClean, expectFound, expectReplays, mutant } from './harness.js';

const M = mutant('swapoff-race');

describe('swapoff-race', () => {
  it('is found by the default portfolio on swapoff: KASAN, the fault reads the freed swap cache', () => {
    const r = expectFound(M, 2000, ['kasan']);
    const v = r.violations[0]!;
    expect(v.message).toMatch(/^BUG: KASAN: slab-use-after-free in filemap_get_entry: read of swapper_spaces \(kvmalloc\) object freed at swapoff: exit_swap_address_space/);
    expect(v.report.preemptions).toBeLessThanOrEqual(2);
  }, 60_000);

  it('the base configuration ' + M.base + ' passes swapoff with the same budget', () => {
    expectBaseClean(M, 2000);
  }, 60_000);

  it('the base configuration with a SWP_SYNCHRONOUS_IO swap device passes swapoff too', () => {
    const sync = defineVariant({ name: `${M.base}-sync-swap`, base: M.base, description: 'zram-like swap device', config: { swap_synchronous_io: true } });
    const r = campaign(sync, 'swapoff', 500);
    expect(r.violations.map((v) => `${v.property}: ${v.message}`)).toEqual([]);
    expect(r.unknown).toBe(0);
  }, 60_000);

  //  |--anon rw (1 page, swapped out)--|   faulter: load; faulter2: store; swapoff
  // faulter2 swaps the page in and, holding the PTL, has freed the entry (swap_free) and is about
  // to set the PTE; swapoff finds nothing in use, kills si->users and waits for faulter2. faulter
  // reads the swap PTE and its get_swap_device() fails: the kernel refaults until faulter2's
  // set_pte_at (a spin on a PTL holder), modelled as a wait — not a fault-livelock, even under
  // a schedule that never runs faulter2 unless it must.
  it('v6.6: a fault whose get_swap_device() fails after percpu_ref_kill waits for the PTL holder, no livelock', () => {
    const anonRw = { op: 'mmap', pid: 1, addr: 0x10000000, len: 4096, prot: { read: true, write: true, exec: false }, flags: { shared: false, anonymous: true, fixed: true, growsdown: false } } as const;
    const scenario: ScenarioSpec = {
      name: 'swapoff-refault-spin', family: 'swapoff', swapSlots: 4,
      processes: [{ pid: 1, setup: [anonRw, { op: 'store', pid: 1, addr: 0x10000000, value: 40 }] }],
      kernelSetup: [{ do: 'swap_out', pid: 1, addr: 0x10000000 }],
      threads: [
        { name: 'faulter', pid: 1, program: [{ op: 'load', pid: 1, addr: 0x10000000 }] },
        { name: 'faulter2', pid: 1, program: [{ op: 'store', pid: 1, addr: 0x10000000, value: 93 }] },
      ],
      daemons: [{ kind: 'swapoff' }],
    };
    const r = runScenario({ variant: generationVariant('v6.6'), scenario, schedule: 'v1:48t4.57t2.75t4.77t2.81t3' });
    expect(r.status === 'pass' ? 'pass' : `${r.status}: ${r.violation?.property} ${r.violation?.message ?? r.error ?? ''}`).toBe('pass');
  });

  it('the kept counterexample replays the same violation', () => {
    const r = expectReplays('test/regressions/swapoff-race.json', M);
    expect(r.violation!.message).toMatch(/slab-use-after-free in filemap_get_entry: read of swapper_spaces/);
    expect(M.scenario).toBe('swapoff');
  });
});
