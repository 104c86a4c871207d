/**
 * `faultline list functions`: the kernel function table (impl/sim/table.ts) with each function's
 * simulation file and the kernel files that file mirrors — and the point of the table: the
 * helpers a kernel fix touched (commit_merge, the vms_* munmap helpers, …) are in it, so a
 * variant replaces exactly one of them and every caller sees the replacement.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTION_HOME, MODULE_FILES } from '../../impl/sim/table.js';
import { baseTable } from '../../impl/sim/table.js';
import { kernelFilesOf } from '../../cli/list.js';
import { defaultBackend } from '../../cli/backend.js';
import type { Task } from '../../impl/rt/task.js';
import type { vma_merge_struct, vma_munmap_struct } from '../../impl/mm/vma.js';
import type { vm_area_struct } from '../../impl/include/linux/mm_types.js';
import { mmapAnon, mprotect, munmap, PAGE, RO, RW, store, sysRun, why } from '../mm/syscalls_harness.js';
import { run } from './fake.js';

const ROOT = join(import.meta.dirname, '../..');

describe('faultline list functions', () => {
  it('every module of the table has its file, and the file names the kernel files it mirrors', () => {
    const modules = new Set(FUNCTION_HOME.values());
    for (const m of modules) {
      const file = MODULE_FILES[m as keyof typeof MODULE_FILES];
      expect(file, m).toBeDefined();
      expect(existsSync(join(ROOT, file)), file).toBe(true);
      expect(kernelFilesOf(readFileSync(join(ROOT, file), 'utf8')).length, file).toBeGreaterThan(0);
    }
  });

  it('lists each function with its file and kernel files (text and --json)', async () => {
    const j = await run(['list', 'functions', '--json'], { cwd: ROOT, backend: defaultBackend });
    expect(j.code).toBe(0);
    const rows = JSON.parse(j.out) as { name: string; file: string; kernel: string[] }[];
    expect(rows.length).toBe(FUNCTION_HOME.size);
    const by = new Map(rows.map((r) => [r.name, r]));
    expect(by.get('commit_merge')).toMatchObject({ file: 'impl/mm/vma.ts' });
    expect(by.get('commit_merge')!.kernel[0]).toBe('mm/vma.c');
    expect(by.get('vms_gather_munmap_vmas')?.file).toBe('impl/mm/vma.ts');
    expect(by.get('__vma_start_exclude_readers')?.kernel).toContain('mm/mmap_lock.c');
    expect(by.get('do_user_addr_fault')?.kernel[0]).toBe('arch/x86/mm/fault.c');
    expect(by.get('dup_mmap')?.kernel[0]).toBe('kernel/fork.c');
    const t = await run(['list', 'functions'], { cwd: ROOT, backend: defaultBackend });
    expect(t.out).toMatch(/^commit_merge +impl\/mm\/vma\.ts +mm\/vma\.c$/m);
  });

  it('the kernel-file parser reads the header paragraph only', () => {
    expect(kernelFilesOf('/**\n * Kernel: mm/memory.c (x), include/linux/mm.h — text\n * more mm/other.c\n *\n * Left out: mm/nope.c\n */')).toEqual(['mm/memory.c', 'include/linux/mm.h', 'mm/other.c']);
    expect(kernelFilesOf('/** no header */')).toEqual([]);
  });
});

describe('the table reaches the helpers a fix touched', () => {
  //   X          X+P
  //   |--anon rw--|--anon ro--|    mprotect(X+P, P, rw) merges; munmap(X, 2P) gathers
  const X = 0x10000000;
  it('a variant that replaces commit_merge, or vms_gather_munmap_vmas, is what mprotect and munmap run', () => {
    const calls: string[] = [];
    const base = baseTable();
    const r = sysRun({
      gen: 'v6.6',
      processes: [{ pid: 1, setup: [mmapAnon(1, X, PAGE, RW, { fixed: true }), mmapAnon(1, X + PAGE, PAGE, RO, { fixed: true }), store(1, X, 1)] }],
      overrides: {
        commit_merge: function* (vmg: vma_merge_struct, adjust: vm_area_struct | null, remove: vm_area_struct | null, remove2: vm_area_struct | null, adj_start: number, expanded: boolean): Task<number> {
          calls.push('commit_merge');
          return yield* base.commit_merge(vmg, adjust, remove, remove2, adj_start, expanded);
        },
        vms_gather_munmap_vmas: function* (vms: vma_munmap_struct): Task<number> {
          calls.push('vms_gather_munmap_vmas');
          return yield* base.vms_gather_munmap_vmas(vms);
        },
      },
      threads: [{ name: 'T', pid: 1, program: [mprotect(1, X + PAGE, PAGE, RW), munmap(1, X, 2 * PAGE)] }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(calls).toEqual(['commit_merge', 'vms_gather_munmap_vmas']);
  });
});
