/**
 * kernel/exit.c (impl/mm/mmap.ts do_group_exit / do_exit / exit_mm, sim_exit_to_user_mode) and
 * kernel/fork.c's CLONE_VM (impl/mm/fork.ts sim_clone_thread): a process's user threads run on
 * its mm with a reference each; exit_group kills the other threads, each drops its reference in
 * its own exit_mm, and the last one tears the address space down.
 *
 * The scenario the general generator could not express before (a forked child with threads of its
 * own, one of which exits while the other runs):
 *
 *   P1:  0x10000000 |--anon, 1 page, value 1--|   fork → P2 (same picture, COW)
 *   P2:  a: load, store 3, exit        b: load, store 4, load
 */
import { describe, expect, it } from 'vitest';
import { PAGE, exit, fork, load, mmapAnon, store, sysDfs, sysRun, why, type SysTest } from './syscalls_harness.js';
import { runScenario } from '../../properties/runner.js';
import { generationVariant } from '../../impl/sim/variant.js';
import { RandomScheduler } from '../../impl/rt/schedulers/random.js';
import { k, type sim_thread } from '../../impl/sim/kernel.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import { defineVariant } from '../../impl/sim/variant.js';
import type { Task } from '../../impl/rt/task.js';
import { current_thread } from '../../impl/sim/kernel.js';

const H = 0x10000000;

const childThreads = (gen: string): SysTest => ({
  gen,
  processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE), store(1, H, 1), fork(1)] }],
  threads: [
    { name: 'a', pid: 2, program: [load(2, H), store(2, H, 3), exit(2)] },
    { name: 'b', pid: 2, program: [load(2, H), store(2, H, 4), load(2, H)] },
    { name: 'c', pid: 1, program: [load(1, H)] },
  ],
});

describe('do_group_exit / exit_mm (kernel/exit.c) with a forked child\'s threads', () => {
  it('500 schedules of the DFS (2 preemptions): no crash, the child\'s threads run on the child\'s mm, and its mm dies with the last thread', () => {
    let runs = 0;
    const res = sysDfs(childThreads('v6.6'), 2, (o, kernel, history) => {
      if (o.status !== 'ok') return;
      runs++;
      const parent = kernel.procs.get(1)!.mm!;
      expect(parent.dead).toBe(false);
      // P2's mm: gone with its last user (a's exit, or b's on its way out after the SIGKILL).
      const p2 = kernel.procs.get(2)!;
      expect(p2.mm).toBeNull();
      expect(p2.exited).toBe(true);
      for (const t of kernel.threads.values()) if (t.pid === 2) expect(t.mm).toBeNull();
      // P1's load always reads P1's page (1): the child's stores went to its own COW copies.
      const c = history.find((h) => h.op.pid === 1 && h.op.op === 'load')!;
      expect(c.result).toEqual({ kind: 'value', value: 1 });
      // b's operations after the exit are either done before it, pending (killed in the kernel) or never started.
      const bId = kernel.exec.tasks.findIndex((t) => t.name === 'b');
      const exitAt = history.find((h) => h.op.op === 'exit')!.invokeSeq;
      for (const h of history.filter((x) => x.task === bId && x.invokeSeq > exitAt)) expect(h.result).toBeUndefined();
    }, 500);
    expect(res.bad.map((o) => why(o))).toEqual([]);
    expect(runs).toBeGreaterThan(100);
  });

  // b faults on the COW page and stops before installing its copy; a runs exit_group to the end.
  const faultThenExit = {
    threads: [
      { name: 'b', pid: 2, program: [store(2, H, 4), load(2, H)] },
      { name: 'a', pid: 2, program: [exit(2)] },
    ],
    script: [
      { task: 'b', until: 'wp_page_copy:set_pte_at' },
      { task: 'a', until: 'exit' },
    ],
  };

  it('a thread killed in the middle of a fault keeps the mm alive: the teardown waits for its exit_mm', () => {
    // b faults on the COW page and stops before installing its copy; a runs exit_group to the end.
    const r = sysRun({
      ...childThreads('v6.6'),
      ...faultThenExit,
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.scriptDone).toBe(true);
    const trace = r.kernel.exec.trace;
    const names = (id: number): string => r.kernel.exec.tasks[id]!.name;
    // The teardown (exit_mmap's zap and free_pgtables) ran in b, the last user, after its fault.
    const teardown = trace.filter((e) => /^(zap_|free_pmd_range|vm_area_free)/.test(e.label) && e.step > 60);
    expect(teardown.length).toBeGreaterThan(0);
    expect(new Set(teardown.map((e) => names(e.task)))).toEqual(new Set(['b']));
    const setPte = trace.find((e) => names(e.task) === 'b' && e.label === 'wp_page_copy:set_pte_at')!;
    expect(teardown.every((e) => e.step > setPte.step)).toBe(true);
    // P2's mm is freed (its last mmdrop), P1's lives on.
    const mm2 = [...r.kernel.threads.values()].find((t) => t.comm === 'b')!;
    expect(mm2.mm).toBeNull();
    // b's store completed in the kernel but never returned to user space; its load never started.
    expect(r.of('b')).toEqual([undefined]);
    expect(r.of('a')).toEqual([{ kind: 'ok' }]);
  });

  it('threads that share one reference (no mmget per thread: the stand-in before) let exit tear the mm down under the sibling\'s fault', () => {
    const stolen = sysRun({
      ...childThreads('v6.6'),
      overrides: {
        sim_clone_thread: (th: sim_thread): number => {
          th.mm = k.procs.get(th.pid)!.mm; // no mmget
          return 0;
        },
      },
      ...faultThenExit,
    });
    // a's exit drops the only reference: exit_mmap runs in a while b is inside its fault, and the
    // mm is freed before a's own exit_mm locks it.
    expect(stolen.outcome.status).toBe('violation');
    expect(stolen.outcome.violation!.property).toBe('kasan');
    expect(stolen.outcome.violation!.message).toMatch(/use-after-free in mmap_read_lock.*mm_struct object freed at __mmdrop/);
  });

  it('the general generator\'s checks (linearizability, final state) accept a child whose threads exit under each other', () => {
    const sc: ScenarioSpec = {
      name: 'child-threads-exit', family: 'test',
      processes: [{ pid: 1, setup: [mmapAnon(1, H, 2 * PAGE), store(1, H, 1), fork(1)] }],
      threads: [
        { name: 'a.p2', pid: 2, program: [store(2, H + PAGE, 7), exit(2)] },
        { name: 'b.p2', pid: 2, program: [load(2, H), store(2, H, 4), load(2, H + PAGE), { op: 'fork', pid: 2 }] },
        { name: 'c.p1', pid: 1, program: [store(1, H, 2), load(1, H)] },
      ],
    };
    const v = generationVariant('v6.6');
    const statuses = new Map<string, number>();
    for (let s = 0; s < 150; s++) {
      const rep = runScenario({ variant: v, scenario: sc, scheduler: new RandomScheduler(s) });
      const key = rep.status === 'pass' ? 'pass' : `${rep.status}: ${rep.violation?.message ?? rep.error}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    expect([...statuses.keys()]).toEqual(['pass']);
  });
});

describe('exit_group while a sibling waits in handle_userfault (killable): the fault ends, the monitor stops', () => {
  // The s10a soak's v6.6 "livelock" (test/regressions/soak-uffd-monitor-after-exit.json): t1 waits
  // for the monitor in handle_userfault, t2 exit_groups. The SIGKILL of zap_other_threads ends
  // t1's TASK_KILLABLE wait; the monitor's reads say -ESRCH from then on (the process is gone)
  // while t1's uwq is still queued — a monitor that kept polling spun on it and, never blocking,
  // starved t1 under a schedule without preemptions. It stops instead.
  const A = 0x10008000;
  const sc: ScenarioSpec = {
    name: 'uffd-wait-then-exit', family: 'test',
    processes: [{ pid: 1, setup: [mmapAnon(1, A, 2 * PAGE), { op: 'uffd_register', pid: 1, addr: A, len: 2 * PAGE, mode: 'missing' }] }],
    threads: [
      { name: 't1', pid: 1, program: [load(1, A)] },
      { name: 't2', pid: 1, program: [exit(1)] },
    ],
    daemons: [{ kind: 'uffd_handler', pid: 1, value: 77, count: 64 }],
  };
  it('every schedule passes: the non-preemptive one of the soak and 60 random ones', () => {
    const v = generationVariant('v6.6');
    expect(runScenario({ variant: v, scenario: sc, schedule: 'v1:' }).status).toBe('pass');
    const statuses = new Set<string>();
    for (let s = 0; s < 60; s++) {
      const rep = runScenario({ variant: v, scenario: sc, scheduler: new RandomScheduler(s) });
      statuses.add(rep.status === 'pass' ? 'pass' : `${rep.status}: ${rep.violation?.message ?? rep.error}`);
    }
    expect([...statuses]).toEqual(['pass']);
  });
  it('a kernel whose exit_group does not kill the sibling (no zap_other_threads) hangs it in handle_userfault, and that is still reported', () => {
    const broken = defineVariant({
      name: 'v6.6-no-zap', base: 'v6.6', description: 'do_group_exit without zap_other_threads',
      overrides: {
        do_group_exit: function* (): Task<void> {
          const th = current_thread();
          const proc = k.procs.get(th.pid);
          if (proc && !proc.exited) {
            proc.exited = true;
            const mm = proc.mm;
            if (mm) {
              yield* k.fn.mmap_read_lock(mm);
              proc.mm = null;
              k.fn.mmap_read_unlock(mm);
              yield* k.fn.mmput(mm);
            }
          }
          yield* k.fn.do_exit();
        },
      },
    });
    const rep = runScenario({ variant: broken, scenario: sc, schedule: 'v1:' });
    expect(rep.status).toBe('violation');
    expect(rep.violation!.property).toBe('deadlock');
    expect(rep.violation!.message).toMatch(/t1#\d+@schedule/);
  });
});
