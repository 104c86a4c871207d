/**
 * A test-only workload over PMD-sized layouts with khugepaged running (not a scenario family: the
 * general generator drives these operations in campaigns): a 2 MiB anonymous region at a
 * PMD-aligned address, a 2 MiB file mapped over a whole PMD, and threads mixing faults, munmap /
 * mprotect / madvise of the whole range or of one page (splitting a THP), mremap of the whole
 * PMD to an aligned or unaligned address, fork, smaps, /proc/pid/mem, O_DIRECT read/write and
 * KVM_CREATE_VM, while khugepaged collapses. Every correct generation must stay clean: kernel
 * invariants, linearizability against the model (khugepaged_collapse included), final state.
 * FAULTLINE_DEEP=1 runs many more.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../properties/runner.js';
import { findConfig } from '../../properties/configs.js';
import { RandomScheduler, mixSeed } from '../../impl/rt/schedulers/random.js';
import { PctScheduler } from '../../impl/rt/schedulers/pct.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { ModelOp } from '../../model/ops.js';
import { PAGE, RO, RW, Src, anon, fileMap, fork, load, mprotect, munmap, page, store } from '../../properties/scenarios/build.js';

const N = 512; // pages per PMD
const BIG = 'big.bin';
const KVM = '/dev/kvm0';

/** One workload of the test (seeded). */
export function pmdWorkload(seed: number): ScenarioSpec {
  const s = new Src(seed);
  const pg = (): number => [0, 1, 2, 3, 255, 256, 510, 511, 512][s.int(0, 8)]!;
  const withFile = s.bool(0.35);
  const op = (pid: number): ModelOp => {
    switch (s.int(0, 17)) {
      case 0: return munmap(pid, s.bool() ? 0 : N / 2, s.bool() ? N / 2 : 1);
      case 1: return mprotect(pid, s.bool() ? 0 : 3, s.bool() ? N : 1, s.bool() ? RO : RW);
      case 2: return {
        op: 'mremap', pid, oldAddr: page(0), oldLen: N * PAGE, newLen: N * PAGE,
        flags: { maymove: true, fixed: true, dontunmap: s.bool(0.2) }, newAddr: page(s.bool() ? 4 * N : 4 * N + 1),
      };
      case 3: return s.bool() ? fork(pid) : { op: 'read_smaps', pid, target: pid };
      case 4: return { op: 'madvise', pid, addr: page(s.bool() ? 0 : 5), len: (s.bool() ? N : 1) * PAGE, advice: 'dontneed' };
      case 5: return { op: 'proc_mem_write', pid, target: pid, addr: page(pg()), value: s.int(1, 99) };
      case 6: return { op: 'dio_read', pid, file: BIG, page: s.int(0, 3), addr: page(pg()) };
      case 7: return { op: 'dio_write', pid, file: BIG, page: s.int(0, 3), addr: page(pg()) };
      case 8: return { op: 'dev_ioctl', pid, file: KVM, cmd: 'KVM_CREATE_VM' };
      case 9: case 10: case 11: case 12: return store(pid, pg(), s.int(1, 99));
      case 13: return withFile ? load(pid, 2 * N + s.int(0, 3)) : load(pid, pg());
      default: return load(pid, pg());
    }
  };
  const setup: ModelOp[] = [anon(1, 0, N), store(1, 0, 1), store(1, 3, 2)];
  if (s.bool(0.3)) setup.push(store(1, N - 1, 3));
  if (withFile) setup.push(fileMap(1, 2 * N, N, BIG, 0, s.bool(0.3), RO), load(1, 2 * N), load(1, 2 * N + 1));
  const threads = Array.from({ length: s.int(1, 3) }, (_, t) => ({ name: `t${t}`, pid: 1, program: Array.from({ length: s.int(1, 3) }, () => op(1)) }));
  return {
    name: `pmd#${seed}`, family: 'pmd-workload',
    files: [{ name: BIG, pages: Array.from({ length: N }, (_, i) => i + 1) }, { name: KVM, pages: [7] }],
    processes: [{ pid: 1, setup }], threads, daemons: [{ kind: 'khugepaged', rounds: s.int(1, 2) }],
  };
}

const RUNS = process.env.FAULTLINE_DEEP ? 1000 : 24;

describe('PMD-sized workloads with khugepaged (test-only scenarios)', () => {
  for (const gen of ['v6.3', 'v6.4', 'v6.6', 'v6.7', 'v6.15']) {
    it(`${gen}: ${RUNS} random + PCT executions, no violation, and collapses happen`, () => {
      const variant = findConfig(gen)!;
      let collapsed = 0;
      const bad: string[] = [];
      for (let i = 0; i < RUNS; i++) {
        const sc = pmdWorkload(mixSeed(11, Math.floor(i / 2)));
        const sched = i % 2 ? new RandomScheduler(mixSeed(17, i)) : new PctScheduler(mixSeed(19, i), 2, 3000);
        const r = runScenario({ variant, scenario: sc, scheduler: sched });
        if (r.history.some((h) => h.op.op === 'khugepaged_collapse' && h.result?.kind === 'ok')) collapsed++;
        if (r.status !== 'pass' && r.status !== 'unknown') bad.push(`${sc.name} ${r.schedule}: ${r.violation?.property}: ${r.violation?.message ?? r.error}`);
      }
      expect(bad).toEqual([]);
      expect(collapsed).toBeGreaterThan(0);
    });
  }
});
