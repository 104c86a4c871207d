/**
 * mm/shmem.c shmem_fault (impl/mm/mmap.ts): shared anonymous memory faults without I/O, and a hole
 * of a range registered for missing faults goes to userfaultfd. mm/mmap.c acct_stack_growth: the
 * stack limit (SIM_RLIMIT_STACK, RLIMIT_STACK scaled to 256 pages).
 *
 *   |--shmem (2 pages; page 1 written), registered MISSING--|        |--stack (1 page)--|
 *   0x10200000                                                        S
 */
import { describe, expect, it } from 'vitest';
import { SIM_RLIMIT_STACK } from '../../impl/include/linux/mm_flags.js';
import { k } from '../../impl/sim/kernel.js';
import { PAGE, RW, load, mmapAnon, store, sysRun, why } from './syscalls_harness.js';

const H = 0x10200000;
const S = 0x10800000;

describe('shmem_fault', () => {
  const threads = [
    { name: 'A', pid: 1, program: [load(1, H), load(1, H + PAGE)] },
    { name: 'B', pid: 1, program: [{ op: 'uffdio_copy' as const, pid: 1, dst: H, value: 5 }] },
  ];
  const processes = [{
    pid: 1,
    setup: [mmapAnon(1, H, 2 * PAGE, RW, { fixed: true, shared: true }), store(1, H + PAGE, 3), { op: 'uffd_register' as const, pid: 1, addr: H, len: 2 * PAGE, mode: 'missing' as const }],
  }];

  it('a hole of a registered range waits for UFFDIO_COPY; a page in the page cache does not', () => {
    const r = sysRun({ gen: 'v6.6', processes, threads });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')).toEqual([{ kind: 'value', value: 5 }, { kind: 'value', value: 3 }]);
    expect(r.of('B')).toEqual([{ kind: 'ok' }]);
  });

  it('filemap_fault in its place fills the hole with zeros without asking the monitor', () => {
    const r = sysRun({ gen: 'v6.6', processes, threads, overrides: { shmem_fault: function* (vmf) { return yield* k.fn.filemap_fault(vmf); } } });
    expect(r.of('A')[0]).toEqual({ kind: 'value', value: 0 });
  });

  it('an unregistered hole reads 0 and a written page keeps its value, under either fault lock', () => {
    for (const gen of ['v6.6', 'v6.7', 'v6.15']) {
      const r = sysRun({
        gen,
        processes: [{ pid: 1, setup: [mmapAnon(1, H, 2 * PAGE, RW, { fixed: true, shared: true }), store(1, H + PAGE, 3)] }],
        threads: [{ name: 'A', pid: 1, program: [load(1, H), load(1, H + PAGE), store(1, H, 4), load(1, H)] }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.of('A')).toEqual([{ kind: 'value', value: 0 }, { kind: 'value', value: 3 }, { kind: 'ok' }, { kind: 'value', value: 4 }]);
    }
  });
});

describe('expand_downwards: acct_stack_growth', () => {
  it('a stack grows while its whole size stays within SIM_RLIMIT_STACK; one page more is SIGSEGV', () => {
    const top = S + PAGE;
    const r = sysRun({
      gen: 'v6.6',
      threads: [{
        name: 'A', pid: 1,
        program: [mmapAnon(1, S, PAGE, RW, { fixed: true, growsdown: true }), store(1, top - SIM_RLIMIT_STACK - PAGE, 1), store(1, top - SIM_RLIMIT_STACK, 2), load(1, top - SIM_RLIMIT_STACK)],
      }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A').slice(1)).toEqual([{ kind: 'signal', sig: 'SIGSEGV' }, { kind: 'ok' }, { kind: 'value', value: 2 }]);
  });
});

describe('fput of a fault\'s file pin: it may be the last reference', () => {
  it('a write fault on shared memory drops its lock with the file pinned (I/O); munmap meanwhile drops the VMA\'s reference; the fault\'s fput is the last (deferred __fput), no BUG', () => {
    for (const gen of ['v6.4', 'v6.6', 'v6.15']) {
      const r = sysRun({
        gen,
        processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE, RW, { fixed: true, shared: true })] }],
        threads: [
          { name: 'A', pid: 1, program: [store(1, H, 7)] },
          { name: 'B', pid: 1, program: [{ op: 'munmap', pid: 1, addr: H, len: PAGE }] },
        ],
        script: [{ task: 'A', until: 'folio_lock_killable' }, { task: 'B', until: 'exit' }],
        // shmem_fault allocates a page the object lacks without I/O; a page the object has in its
        // backing store (written back) is read through filemap_fault, which drops the lock for the
        // read with the file pinned. The page is made one the object has, not in the page cache.
        overrides: {
          shmem_fault: function* (vmf) {
            vmf.vma.vm_file!.f_mapping.host.sim_shmem_present?.add(vmf.pgoff);
            return yield* k.fn.filemap_fault(vmf);
          },
        },
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.scriptDone).toBe(true);
      expect(r.of('B')).toEqual([{ kind: 'ok' }]);
    }
  });
});
