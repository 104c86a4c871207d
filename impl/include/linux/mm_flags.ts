/**
 * Kernel: include/linux/mm.h (VM_* flags, FAULT_FLAG_*), include/linux/mm_types.h (VM_FAULT_*),
 * include/uapi/asm-generic/mman-common.h (PROT_*, MAP_*, MADV_*), include/uapi/linux/mman.h (MREMAP_*).
 * Bit values follow the kernel where it matters for readability only; nothing depends on them.
 */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PTRS_PER_PTE = 512;
/** One PTE table maps PMD_SIZE (2 MiB). */
export const PMD_SHIFT = PAGE_SHIFT + 9;
export const PMD_SIZE = 2 ** PMD_SHIFT;
export const PMD_MASK_BITS = PMD_SHIFT;
/** HPAGE_PMD_ORDER / HPAGE_PMD_NR / HPAGE_PMD_SIZE (include/linux/huge_mm.h): a PMD-sized THP. */
export const HPAGE_PMD_ORDER = PMD_SHIFT - PAGE_SHIFT;
export const HPAGE_PMD_NR = 1 << HPAGE_PMD_ORDER;
export const HPAGE_PMD_SIZE = PMD_SIZE;
/** The lowest user address mmap hands out (mmap_min_addr) and the top-down base (mmap_base). */
export const MMAP_MIN_ADDR = 0x10000;
/** TASK_SIZE of x86-64 with 4-level paging (the model's value, model/state.ts). */
export const TASK_SIZE = 0x7ffffffff000;
/** mm->mmap_base: fixed (no ASLR), the top of the top-down mmap area (model/state.ts MMAP_BASE). */
export const MMAP_BASE = 0x7f0000000000;
/** stack_guard_gap: 256 pages (mm/mmap.c). */
export const STACK_GUARD_GAP = 256 << PAGE_SHIFT;
/**
 * rlimit(RLIMIT_STACK), scaled down to 256 pages (1 MiB) — the model's STACK_RLIMIT: a stack
 * grows while its whole size stays within it (acct_stack_growth).
 */
export const SIM_RLIMIT_STACK = 256 << PAGE_SHIFT;

// vm_flags
export const VM_NONE = 0;
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_GROWSDOWN = 0x100;
export const VM_UFFD_MISSING = 0x200;
export const VM_PFNMAP = 0x400;
export const VM_UFFD_WP = 0x1000;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
export const VM_HUGETLB = 0x400000;
export const VM_WIPEONFORK = 0x2000000;
export const VM_DONTDUMP = 0x4000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_MERGEABLE = 0x80000000;
export const VM_UFFD_FLAGS = VM_UFFD_MISSING | VM_UFFD_WP;
export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
/** Flags that make two otherwise adjacent VMAs unmergeable (VM_SPECIAL in mm.h). */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

// mmap(2)
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_GROWSDOWN = 0x100;
export const MAP_FIXED_NOREPLACE = 0x100000;
export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;
export const MADV_DONTNEED = 4;
export const MADV_REMOVE = 9;

// enum fault_flag (include/linux/mm_types.h)
export const FAULT_FLAG_WRITE = 1 << 0;
export const FAULT_FLAG_MKWRITE = 1 << 1;
export const FAULT_FLAG_ALLOW_RETRY = 1 << 2;
export const FAULT_FLAG_RETRY_NOWAIT = 1 << 3;
export const FAULT_FLAG_KILLABLE = 1 << 4;
export const FAULT_FLAG_TRIED = 1 << 5;
export const FAULT_FLAG_USER = 1 << 6;
export const FAULT_FLAG_REMOTE = 1 << 7;
export const FAULT_FLAG_INSTRUCTION = 1 << 8;
export const FAULT_FLAG_INTERRUPTIBLE = 1 << 9;
export const FAULT_FLAG_UNSHARE = 1 << 10;
export const FAULT_FLAG_ORIG_PTE_VALID = 1 << 11;
export const FAULT_FLAG_VMA_LOCK = 1 << 12;
export const FAULT_FLAG_DEFAULT = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE | FAULT_FLAG_INTERRUPTIBLE;

// vm_fault_t (include/linux/mm_types.h enum vm_fault_reason)
export const VM_FAULT_OOM = 0x000001;
export const VM_FAULT_SIGBUS = 0x000002;
export const VM_FAULT_MAJOR = 0x000004;
export const VM_FAULT_HWPOISON = 0x000010;
export const VM_FAULT_SIGSEGV = 0x000040;
export const VM_FAULT_NOPAGE = 0x000100;
export const VM_FAULT_LOCKED = 0x000200;
export const VM_FAULT_RETRY = 0x000400;
export const VM_FAULT_FALLBACK = 0x000800;
export const VM_FAULT_DONE_COW = 0x001000;
export const VM_FAULT_NEEDDSYNC = 0x002000;
export const VM_FAULT_COMPLETED = 0x004000;
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON;

// x86 page-fault error code (arch/x86/include/asm/trap_pf.h)
export const X86_PF_PROT = 1 << 0;
export const X86_PF_WRITE = 1 << 1;
export const X86_PF_USER = 1 << 2;
export const X86_PF_INSTR = 1 << 4;

// vm_event_item counters for CONFIG_PER_VMA_LOCK_STATS
export type VmaLockEvent = 'VMA_LOCK_SUCCESS' | 'VMA_LOCK_ABORT' | 'VMA_LOCK_RETRY' | 'VMA_LOCK_MISS';

/** vm_get_page_prot analogue: which accesses the page protection allows. */
export function vm_flags_to_string(f: number): string {
  return `${f & VM_READ ? 'r' : '-'}${f & VM_WRITE ? 'w' : '-'}${f & VM_EXEC ? 'x' : '-'}${f & VM_SHARED ? 's' : 'p'}`;
}
