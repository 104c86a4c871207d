/**
 * mm/mprotect.c: do_mprotect_pkey → mprotect_fixup (vma_modify_flags split/merge, vma_start_write,
 * vm_flags_reset_once, change_protection under the PTL).
 */
import { describe, expect, it } from 'vitest';
import { GENERATIONS } from '../../impl/sim/config.js';
import { PAGE, RO, RW, load, maps, mapsText, mmapAnon, mprotect, munmap, store, sysDfs, sysRun, why } from './syscalls_harness.js';
import { PMD_SIZE, PTRS_PER_PTE } from '../../impl/include/linux/mm_flags.js';
import type { mm_struct, pte_t } from '../../impl/include/linux/mm_types.js';

const H = 0x10000000;
const hex = (n: number): string => n.toString(16);

function pteAt(mm: mm_struct, a: number): pte_t | null {
  const t = mm.pgd.get(Math.floor(a / PMD_SIZE))?.table;
  return t ? t.entries[Math.floor(a / PAGE) % PTRS_PER_PTE]! : null;
}

describe('do_mprotect_pkey', () => {
  for (const g of GENERATIONS) {
    it(`${g.name}: the middle becomes read-only (split in three), stores there fault with SIGSEGV, then merges back`, () => {
      //   |--rw--|--r--|--rw--|   →   |------rw------|
      const r = sysRun({
        gen: g.name,
        threads: [{
          name: 'A', pid: 1,
          program: [
            mmapAnon(1, H, 3 * PAGE), store(1, H + PAGE, 7),
            mprotect(1, H + PAGE, PAGE, RO), maps(1), store(1, H + PAGE, 8), load(1, H + PAGE),
            mprotect(1, H + PAGE, PAGE, RW), maps(1), store(1, H + PAGE, 9), load(1, H + PAGE),
          ],
        }],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      const res = r.of('A');
      expect(mapsText(res[3])).toEqual([
        `${hex(H)}-${hex(H + PAGE)} rw-p 0`, `${hex(H + PAGE)}-${hex(H + 2 * PAGE)} r--p 0`, `${hex(H + 2 * PAGE)}-${hex(H + 3 * PAGE)} rw-p 0`,
      ]);
      expect(res[4]).toEqual({ kind: 'signal', sig: 'SIGSEGV' });
      expect(res[5]).toEqual({ kind: 'value', value: 7 });
      expect(mapsText(res[7])).toEqual([`${hex(H)}-${hex(H + 3 * PAGE)} rw-p 0`]);
      expect(res[9]).toEqual({ kind: 'value', value: 9 });
    });
  }

  it('the PTEs of a read-only range are write-protected; an exclusive anon page becomes writable again without a fault', () => {
    const r = sysRun({
      gen: 'v6.6',
      threads: [{ name: 'A', pid: 1, program: [mmapAnon(1, H, PAGE), store(1, H, 1), mprotect(1, H, PAGE, RO)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const mm = r.kernel.procs.get(1)!.mm!;
    const p = pteAt(mm, H)!;
    expect(p.kind === 'present' && p.write).toBe(false);
    const r2 = sysRun({
      gen: 'v6.6',
      threads: [{ name: 'A', pid: 1, program: [mmapAnon(1, H, PAGE), store(1, H, 1), mprotect(1, H, PAGE, RO), mprotect(1, H, PAGE, RW)] }],
    });
    const p2 = pteAt(r2.kernel.procs.get(1)!.mm!, H)!;
    expect(p2.kind === 'present' && p2.write).toBe(true); // MM_CP_TRY_CHANGE_WRITABLE
  });

  it('errors: unaligned → -EINVAL, len 0 → 0, a hole → -ENOMEM after changing the part before it', () => {
    //   |--rw--|  hole  |--rw--|   mprotect over all three: first becomes r, -ENOMEM
    const r = sysRun({
      gen: 'v6.6',
      threads: [{
        name: 'A', pid: 1,
        program: [
          mmapAnon(1, H, 3 * PAGE), munmap(1, H + PAGE, PAGE),
          mprotect(1, H + 1, PAGE, RO), mprotect(1, H, 0, RO), mprotect(1, H, 3 * PAGE, RO), maps(1),
          mprotect(1, 0x50000000, PAGE, RO),
        ],
      }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    const res = r.of('A');
    expect(res.slice(2, 5)).toEqual([{ kind: 'errno', errno: -22 }, { kind: 'ok' }, { kind: 'errno', errno: -12 }]);
    expect(mapsText(res[5])).toEqual([`${hex(H)}-${hex(H + PAGE)} r--p 0`, `${hex(H + 2 * PAGE)}-${hex(H + 3 * PAGE)} rw-p 0`]);
    expect(res[6]).toEqual({ kind: 'errno', errno: -12 });
  });

  for (const gen of ['v6.4', 'v6.6', 'v6.15']) {
    it(`${gen}: a write fault racing mprotect(RO): after mprotect returns the page is never writable (every schedule, 2 preemptions)`, () => {
      //   |--rw page--|   A: store (fault)   B: mprotect(RO)
      const res = sysDfs(
        {
          gen,
          processes: [{ pid: 1, setup: [mmapAnon(1, H, 2 * PAGE), store(1, H + PAGE, 1)] }],
          threads: [
            { name: 'A', pid: 1, program: [store(1, H, 5)] },
            { name: 'B', pid: 1, program: [mprotect(1, H, 2 * PAGE, RO)] },
          ],
        },
        2,
        (o, kernel, history) => {
          if (o.status !== 'ok') return;
          const mm = kernel.procs.get(1)!.mm!;
          for (const a of [H, H + PAGE]) {
            const p = pteAt(mm, a);
            expect(p && p.kind === 'present' && p.write).toBeFalsy();
          }
          const a = history.find((h) => h.op.op === 'store')!;
          const b = history.find((h) => h.op.op === 'mprotect')!;
          // A store that completed after mprotect returned must have failed.
          if (a.invoke > b.response) expect(a.result!.kind).toBe('signal');
        },
        1500,
      );
      expect(res.bad.map(why)).toEqual([]);
    });
  }
});
