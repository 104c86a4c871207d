/**
 * PROT_NONE entries (x86 _PAGE_PROTNONE, pte_t.protnone): mm/mprotect.c change_pte_range,
 * entries built for a PROT_NONE VMA (set_pte_at takes the state from vm_page_prot: a FOLL_FORCE
 * write through /proc/pid/mem, a PFN map's prefault), the MMU that does not see them, and
 * do_numa_page restoring an entry of a VMA made accessible again before mprotect rewrote it.
 *
 *   |--anon (1 page, written)--|      |--/dev/pfnmap0 shared PROT_NONE (2 pages)--|
 *   0x10000000                          0x10010000
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../impl/rt/task.js';
import { PMD_SIZE, PTRS_PER_PTE } from '../../impl/include/linux/mm_flags.js';
import type { mm_struct, pte_t, pte_table } from '../../impl/include/linux/mm_types.js';
import { k } from '../../impl/sim/kernel.js';
import { NONE, PAGE, RO, RW, load, mmapAnon, mmapFile, mprotect, store, sysRun, why } from './syscalls_harness.js';

const H = 0x10000000;
const D = 0x10010000;

function pteAt(mm: mm_struct, a: number): pte_t | null {
  const t = mm.pgd.get(Math.floor(a / PMD_SIZE))?.table;
  return t ? t.entries[Math.floor(a / PAGE) % PTRS_PER_PTE]! : null;
}

describe('change_pte_range: PROT_NONE', () => {
  it('mprotect(PROT_NONE) makes the present entry protnone: the next load faults and gets SIGSEGV; PROT_READ|WRITE clears it', () => {
    const r = sysRun({
      gen: 'v6.6',
      threads: [{ name: 'A', pid: 1, program: [mmapAnon(1, H, PAGE), store(1, H, 7), mprotect(1, H, PAGE, NONE), load(1, H), mprotect(1, H, PAGE, RW), load(1, H)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const res = r.of('A');
    expect(res[3]).toEqual({ kind: 'signal', sig: 'SIGSEGV' });
    expect(res[5]).toEqual({ kind: 'value', value: 7 });
    const p = pteAt(r.kernel.procs.get(1)!.mm!, H)!;
    expect(p.kind === 'present' && !p.protnone).toBe(true);
  });

  it('a broken set_pte_at that drops the PROT_NONE state lets the load read the page (what the MMU must not do)', () => {
    const r = sysRun({
      gen: 'v6.6',
      overrides: {
        set_pte_at: (_mm: mm_struct, addr: number, table: pte_table, p: pte_t) => {
          table.entries[k.fn.pte_index(addr)] = p.kind === 'present' ? { ...p, protnone: false } : p;
        },
      },
      threads: [{ name: 'A', pid: 1, program: [mmapAnon(1, H, PAGE), store(1, H, 7), mprotect(1, H, PAGE, NONE), load(1, H)] }],
    });
    expect(r.of('A')[3]).toEqual({ kind: 'value', value: 7 });
  });
});

describe('entries built for a PROT_NONE VMA', () => {
  it('a /proc/self/mem write into a private PROT_NONE mapping maps a protnone page: loads still get SIGSEGV', () => {
    const r = sysRun({
      gen: 'v6.6',
      threads: [{ name: 'A', pid: 1, program: [mmapAnon(1, H, PAGE, NONE), { op: 'proc_mem_write', pid: 1, target: 1, addr: H, value: 5 }, load(1, H)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const res = r.of('A');
    expect(res[1]).toEqual({ kind: 'ok' });
    expect(res[2]).toEqual({ kind: 'signal', sig: 'SIGSEGV' });
    const p = pteAt(r.kernel.procs.get(1)!.mm!, H)!;
    expect(p.kind === 'present' && p.protnone).toBe(true);
  });

  it('a PFN map of a device mapped PROT_NONE is prefaulted with protnone entries: SIGSEGV', () => {
    const r = sysRun({
      gen: 'v6.6',
      files: [{ name: '/dev/pfnmap0', pages: [200, 201] }],
      threads: [{ name: 'A', pid: 1, program: [mmapFile(1, D, 2 * PAGE, '/dev/pfnmap0', 0, NONE, { fixed: true, shared: true }), load(1, D)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')[1]).toEqual({ kind: 'signal', sig: 'SIGSEGV' });
    const p = pteAt(r.kernel.procs.get(1)!.mm!, D)!;
    expect(p.kind === 'present' && p.protnone).toBe(true);
  });
});

describe('do_numa_page', () => {
  // The window of mprotect(PROT_NONE → RW): vm_page_prot is accessible again, the entry is still
  // protnone. A fault there must rebuild the entry, not spin on it.
  function* protnoneEntry(k: Parameters<NonNullable<Parameters<typeof sysRun>[0]['setup']>>[0]): Task<void> {
    yield 'test:protnone';
    const mm = k.procs.get(1)!.mm!;
    const t = mm.pgd.get(Math.floor(H / PMD_SIZE))!.table!;
    const i = Math.floor(H / PAGE) % PTRS_PER_PTE;
    const p = t.entries[i]!;
    if (p.kind !== 'present') throw new Error('no present entry');
    t.entries[i] = { ...p, protnone: true, write: false };
    k.fn.flush_tlb_mm_range(mm, 0, Number.MAX_SAFE_INTEGER);
  }

  it('restores a protnone entry of an accessible VMA; the load completes', () => {
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE, RW, { fixed: true }), store(1, H, 9)] }],
      setup: protnoneEntry,
      threads: [{ name: 'A', pid: 1, program: [load(1, H), store(1, H, 10), load(1, H)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.of('A')).toEqual([{ kind: 'value', value: 9 }, { kind: 'ok' }, { kind: 'value', value: 10 }]);
    const p = pteAt(r.kernel.procs.get(1)!.mm!, H)!;
    expect(p.kind === 'present' && !p.protnone).toBe(true);
  });

  it('without it the fault retries forever (fault-livelock)', () => {
    const r = sysRun({
      gen: 'v6.6',
      overrides: { do_numa_page: function* () { yield 'do_numa_page:broken'; return 0; } },
      processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE, RW, { fixed: true }), store(1, H, 9)] }],
      setup: protnoneEntry,
      threads: [{ name: 'A', pid: 1, program: [load(1, H)] }],
    });
    expect(r.outcome.status).toBe('violation');
    expect(r.outcome.violation?.property).toBe('fault-livelock');
  });
});

describe('mprotect of a MAP_SHARED mapping', () => {
  //   |--shared anon (1 page, written)--|   |--data.bin shared (1 page, written)--|
  it('write-protects its dirty PTEs: a store after mprotect(PROT_READ) gets SIGSEGV; PROT_WRITE again lets it through', () => {
    for (const gen of ['v6.3', 'v6.6', 'v6.15']) {
      const r = sysRun({
        gen,
        files: [{ name: 'data.bin', pages: [1] }],
        processes: [{ pid: 1, setup: [mmapAnon(1, H, PAGE, RW, { fixed: true, shared: true }), store(1, H, 1), mmapFile(1, D, PAGE, 'data.bin', 0, RW, { fixed: true, shared: true }), store(1, D, 2)] }],
        threads: [{
          name: 'A', pid: 1,
          program: [mprotect(1, H, PAGE, RO), store(1, H, 3), mprotect(1, D, PAGE, RO), store(1, D, 4), mprotect(1, D, PAGE, RW), store(1, D, 5), load(1, D)],
        }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      const segv = { kind: 'signal', sig: 'SIGSEGV' };
      expect(r.of('A')).toEqual([{ kind: 'ok' }, segv, { kind: 'ok' }, segv, { kind: 'ok' }, { kind: 'ok' }, { kind: 'value', value: 5 }]);
    }
  });
});
