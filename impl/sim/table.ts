/**
 * The kernel function table. Every kernel function is called through `k.fn.<name>(…)` so that a
 * variant (a zoo mutant, a generation, or a user's own locking idea) can replace any function by
 * name. The table is every exported function of the modules below: a new kernel function only has
 * to be exported from its file to become overridable.
 */
import * as mmap_lock from '../mm/mmap_lock.js';
import * as maple_tree from '../mm/maple_tree.js';
import * as memory from '../mm/memory.js';
import * as memory_unmap from '../mm/memory_unmap.js';
import * as pgtable_generic from '../mm/pgtable_generic.js';
import * as page_alloc from '../mm/page_alloc.js';
import * as rmap from '../mm/rmap.js';
import * as filemap from '../mm/filemap.js';
import * as swap_state from '../mm/swap_state.js';
import * as swapfile from '../mm/swapfile.js';
import * as vmscan from '../mm/vmscan.js';
import * as mmap from '../mm/mmap.js';
import * as vma from '../mm/vma.js';
import * as mprotect from '../mm/mprotect.js';
import * as fork from '../mm/fork.js';
import * as mmu_gather from '../mm/mmu_gather.js';
import * as mempolicy from '../mm/mempolicy.js';
import * as userfaultfd from '../mm/userfaultfd.js';
import * as mremap from '../mm/mremap.js';
import * as madvise from '../mm/madvise.js';
import * as gup from '../mm/gup.js';
import * as khugepaged from '../mm/khugepaged.js';
import * as task_mmu from '../mm/task_mmu.js';
import * as fault from '../arch/x86/mm/fault.js';
import * as tlb from '../arch/x86/mm/tlb.js';
import * as block from '../drivers/block.js';
import * as misc_device from '../drivers/misc_device.js';
import * as vma_init from '../mm/vma_init.js';
import * as memory_swap from '../mm/memory_swap.js';
import * as mmu_notifier from '../mm/mmu_notifier.js';
import * as huge_memory from '../mm/huge_memory.js';
import * as direct_io from '../fs/direct_io.js';
import * as kvm from '../drivers/kvm.js';
import * as file_table from '../fs/file_table.js';

const modules = {
  mmap_lock, maple_tree, memory, memory_unmap, pgtable_generic, page_alloc, rmap, filemap,
  swap_state, swapfile, vmscan, mmap, vma, mprotect, fork, mmu_gather, mempolicy, userfaultfd,
  mremap, madvise, gup, khugepaged, task_mmu, fault, tlb, block, misc_device, vma_init, memory_swap, mmu_notifier,
  huge_memory, direct_io, kvm, file_table,
};

type FunctionsOf<M> = { [K in keyof M as M[K] extends (...args: never[]) => unknown ? K : never]: M[K] };
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type Modules = typeof modules;

/** The type of the kernel function table: every exported function of every kernel module. */
export type KernelFns = UnionToIntersection<{ [M in keyof Modules]: FunctionsOf<Modules[M]> }[keyof Modules]>;

/**
 * The simulation file of each module (repository-relative): its header's `Kernel:` line names the
 * kernel files it mirrors (`faultline list functions`). test/cli/list_functions.test.ts keeps this
 * in step with `modules`.
 */
export const MODULE_FILES: Readonly<Record<keyof typeof modules, string>> = {
  mmap_lock: 'impl/mm/mmap_lock.ts', maple_tree: 'impl/mm/maple_tree.ts', memory: 'impl/mm/memory.ts',
  memory_unmap: 'impl/mm/memory_unmap.ts', pgtable_generic: 'impl/mm/pgtable_generic.ts',
  page_alloc: 'impl/mm/page_alloc.ts', rmap: 'impl/mm/rmap.ts', filemap: 'impl/mm/filemap.ts',
  swap_state: 'impl/mm/swap_state.ts', swapfile: 'impl/mm/swapfile.ts', vmscan: 'impl/mm/vmscan.ts',
  mmap: 'impl/mm/mmap.ts', vma: 'impl/mm/vma.ts', mprotect: 'impl/mm/mprotect.ts', fork: 'impl/mm/fork.ts',
  mmu_gather: 'impl/mm/mmu_gather.ts', mempolicy: 'impl/mm/mempolicy.ts', userfaultfd: 'impl/mm/userfaultfd.ts',
  mremap: 'impl/mm/mremap.ts', madvise: 'impl/mm/madvise.ts', gup: 'impl/mm/gup.ts',
  khugepaged: 'impl/mm/khugepaged.ts', task_mmu: 'impl/mm/task_mmu.ts', fault: 'impl/arch/x86/mm/fault.ts',
  tlb: 'impl/arch/x86/mm/tlb.ts', block: 'impl/drivers/block.ts', misc_device: 'impl/drivers/misc_device.ts',
  vma_init: 'impl/mm/vma_init.ts', memory_swap: 'impl/mm/memory_swap.ts', mmu_notifier: 'impl/mm/mmu_notifier.ts',
  huge_memory: 'impl/mm/huge_memory.ts', direct_io: 'impl/fs/direct_io.ts', kvm: 'impl/drivers/kvm.ts',
  file_table: 'impl/fs/file_table.ts',
};

/** Which module (kernel file) each function comes from, for `faultline list` and error messages. */
export const FUNCTION_HOME: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  for (const [mod, ns] of Object.entries(modules)) {
    for (const [name, v] of Object.entries(ns)) {
      if (typeof v === 'function') {
        if (m.has(name)) throw new Error(`kernel function ${name} is exported by both ${m.get(name)} and ${mod}`);
        m.set(name, mod);
      }
    }
  }
  return m;
})();

let BASE_TEMPLATE: Record<string, unknown> | null = null;

/**
 * The base table: every kernel function as written in impl/. A fresh object per call (a run or a
 * test may replace entries of its own kernel's table), copied from a template built once: walking
 * the module namespaces costs ~0.3 ms, the copy ~1 µs.
 */
export function baseTable(): KernelFns {
  if (BASE_TEMPLATE === null) {
    const t: Record<string, unknown> = {};
    for (const ns of Object.values(modules)) {
      for (const [name, v] of Object.entries(ns)) if (typeof v === 'function') t[name] = v;
    }
    BASE_TEMPLATE = t;
  }
  return { ...BASE_TEMPLATE } as KernelFns;
}
