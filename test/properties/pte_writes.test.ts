/**
 * The incremental I10 check (properties/invariants/kernel_state.ts, checkPtesInsideVmas) skips a
 * page table whose KASAN write stamp did not move since its last clean scan. That is exact only
 * if every write of a PTE goes through kasan_check_write on its table — as in the kernel, where
 * KASAN instruments every store. This test keeps it so: each assignment to `<table>.entries[…]`
 * in impl/ must sit in a function that calls kasan_check_write, or be one of the reviewed
 * exceptions below; and no alias of an entries array may be taken (it could be written unseen).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Execution } from '../../impl/rt/execution.js';
import { ReplayScheduler } from '../../impl/rt/schedulers/replay.js';
import { Kernel } from '../../impl/sim/kernel.js';
import { findGeneration } from '../../impl/sim/config.js';
import type { KernelFns } from '../../impl/sim/table.js';
import { folio, maple_node, mm_struct, pmd_t, pte_table, sim_reset_ids, vm_area_struct, type pte_t } from '../../impl/include/linux/mm_types.js';
import { PAGE_SIZE, PMD_SHIFT, VM_READ, VM_WRITE } from '../../impl/include/linux/mm_flags.js';
import { kasan_check_write, sim_kasan_track } from '../../impl/sync/kasan.js';
import { checkPtesInsideVmas } from '../../properties/invariants/kernel_state.js';

const ROOT = join(import.meta.dirname, '../..');

/**
 * Reviewed writers without kasan_check_write on the table: file → function → why it cannot break
 * the memo.
 */
const EXCEPTIONS: Record<string, Record<string, string>> = {
  'impl/mm/khugepaged.ts': {
    sim_collapse_copy: 'fills a fresh table (a new table in the PMD: rescanned) and only clears the old one (cannot break I10)',
  },
};

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The name and body (up to `line`) of the function enclosing line `line`. */
function enclosing(lines: readonly string[], line: number): { name: string; body: string } {
  for (let i = line; i >= 0; i--) {
    const m = /^(?:export\s+)?function\*?\s+([A-Za-z0-9_$]+)/.exec(lines[i]!);
    if (m) return { name: m[1]!, body: lines.slice(i, line + 1).join('\n') };
  }
  return { name: '(module)', body: lines.slice(0, line + 1).join('\n') };
}

describe('PTE writes are KASAN-instrumented (the incremental I10 check relies on it)', () => {
  const sources = files(join(ROOT, 'impl')).map((p) => ({ path: relative(ROOT, p), lines: readFileSync(p, 'utf8').split('\n') }));

  it('every `.entries[i] = …` is in a function that calls kasan_check_write, or a reviewed exception', () => {
    const bad: string[] = [];
    let writers = 0;
    for (const { path, lines } of sources) {
      lines.forEach((text, i) => {
        if (!/\.entries\[[^\]]*\]\s*(?:\?\?|\|\||&&)?=(?!=)/.test(text)) return;
        if (/^\s*(\/\/|\*)/.test(text)) return;
        writers++;
        const fn = enclosing(lines, i);
        if (/kasan_check_write\(/.test(fn.body)) return;
        if (EXCEPTIONS[path]?.[fn.name]) return;
        bad.push(`${path}:${i + 1} in ${fn.name}: ${text.trim()}`);
      });
    }
    expect(writers).toBeGreaterThan(0);
    expect(bad, 'call kasan_check_write(table, site) before writing a PTE (see kernel_state.ts checkPtesInsideVmas)').toEqual([]);
  });

  it('no alias of a page table\'s entries array is taken', () => {
    const bad: string[] = [];
    for (const { path, lines } of sources) {
      lines.forEach((text, i) => {
        if (/=\s*[A-Za-z0-9_$.!]+\.entries\s*[;,)]/.test(text) && !/Object\.entries/.test(text)) bad.push(`${path}:${i + 1}: ${text.trim()}`);
      });
    }
    expect(bad).toEqual([]);
  });

  it('the check finds the planted writes it guards against', () => {
    const fake = ['export function sim_bad(table) {', '  table.entries[3] = pte;', '}'];
    const fn = enclosing(fake, 1);
    expect(fn.name).toBe('sim_bad');
    expect(/kasan_check_write\(/.test(fn.body)).toBe(false);
  });
});

/*
 * The memo itself, on a hand-built mm (no lock is taken between the checks, so only the memo's
 * own comparison can notice the change):
 *   |--vma A [0x10000000,0x10002000)--|   |--vma B [0x10004000,0x10005000)--|
 */
describe('checkPtesInsideVmas memo (exact between two checks at a free mmap_lock)', () => {
  const BASE = 0x10000000;
  function world() {
    sim_reset_ids();
    const exec = new Execution({ scheduler: new ReplayScheduler('v1:') });
    const k = new Kernel(findGeneration('v6.6')!, {} as unknown as KernelFns, 'v6.6', exec);
    const mm = new mm_struct(1);
    k.procs.set(1, { pid: 1, mm, uffds: [], exited: false });
    const a = new vm_area_struct(mm, BASE, BASE + 2 * PAGE_SIZE, VM_READ | VM_WRITE, BASE / PAGE_SIZE);
    const b = new vm_area_struct(mm, BASE + 4 * PAGE_SIZE, BASE + 5 * PAGE_SIZE, VM_READ | VM_WRITE, 0);
    mm.mm_mt.ma_root = new maple_node([a, b]);
    const pmd = new pmd_t(BASE / 2 ** PMD_SHIFT);
    pmd.table = sim_kasan_track(new pte_table(), 'pte_table', 'test');
    mm.pgd.set(pmd.index, pmd);
    return { k, mm, a, b, pmd };
  }
  const present = (f: folio): pte_t => ({ kind: 'present', folio: f, write: true, dirty: false, young: true, special: false, uffd_wp: false });
  /** A PTE write as the kernel makes it (set_pte_at: instrumented). */
  function setPte(t: pte_table, addr: number, pte: pte_t) {
    kasan_check_write(t, 'set_pte_at');
    t.entries[(addr - BASE) / PAGE_SIZE] = pte;
  }

  it('sees an instrumented PTE write into the hole', () => {
    const { k, pmd } = world();
    setPte(pmd.table!, BASE, present(new folio()));
    expect(checkPtesInsideVmas(k)).toBeNull();
    expect(checkPtesInsideVmas(k)).toBeNull(); // memo hit
    setPte(pmd.table!, BASE + 3 * PAGE_SIZE, present(new folio()));
    expect(checkPtesInsideVmas(k)?.property).toBe('pte-outside-vma');
  });

  it('sees a VMA that shrank under a PTE', () => {
    const { k, a, pmd } = world();
    setPte(pmd.table!, BASE + PAGE_SIZE, present(new folio()));
    expect(checkPtesInsideVmas(k)).toBeNull();
    a.vm_end = BASE + PAGE_SIZE;
    expect(checkPtesInsideVmas(k)?.property).toBe('pte-outside-vma');
  });

  it('sees a VMA removed from the tree, and a table swapped into the PMD', () => {
    const w = world();
    setPte(w.pmd.table!, BASE + 4 * PAGE_SIZE, present(new folio()));
    expect(checkPtesInsideVmas(w.k)).toBeNull();
    w.mm.mm_mt.ma_root = new maple_node([w.a]);
    expect(checkPtesInsideVmas(w.k)?.property).toBe('pte-outside-vma');
    const v = world();
    expect(checkPtesInsideVmas(v.k)).toBeNull();
    const t = new pte_table();
    t.entries[3] = present(new folio()); // a fresh table, filled before it is linked (khugepaged)
    v.pmd.table = t;
    expect(checkPtesInsideVmas(v.k)?.property).toBe('pte-outside-vma');
  });
});
