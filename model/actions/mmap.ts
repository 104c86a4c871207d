/**
 * mmap(2) — mm/mmap.c: do_mmap → get_unmapped_area → mmap_region.
 * MAP_FIXED replaces what was there (munmap first, with UFFD_EVENT_UNMAP);
 * MAP_FIXED_NOREPLACE fails with -EEXIST instead; without them the kernel picks an address
 * (the hint if free, else any free range ≥ mmap_min_addr: the model accepts any, canonically the
 * top-down choice). The new VMA merges with compatible neighbours (vma_merge_new_range). A
 * private mapping of a PFN-map device longer than the rest of the device is refused (-EINVAL,
 * impl/drivers/misc_device.ts), the range unmapped first.
 *
 * Failure contract (state.mayFail): -ENOMEM (vm_area_alloc, vma_iter_prealloc, the merge's
 * anon_vma_clone, a driver's ->mmap such as remap_pfn_range's page tables, shmem's inode). Without
 * MAP_FIXED nothing changed. With MAP_FIXED over existing VMAs, mm/mmap.c mmap_region first unmaps
 * the range: if that munmap fails, its partial effects (failure.ts failedMunmapStates); 6.3–6.11
 * run it to completion before allocating the new VMA, so a later failure leaves a hole where the
 * old mapping was, its UFFD_EVENT_UNMAP delivered; 6.12+ (__mmap_region) gathers the old VMAs and
 * puts them back on failure (vms_abort_munmap_vmas) — unless their PTEs were already cleared for a
 * ->mmap hook (vms_clean_up_area), which leaves the hole again. Accepted: unchanged, split, or the
 * hole.
 */
import { ENOMEM, EBADF, EEXIST, EINVAL, EPERM, ESRCH, errno, addrResult, resultsEqual, describeResult, type MmapOp, type ModelResult } from '../ops.js';
import { transition, type Action, type Outcome, type Verdict } from '../action.js';
import { PAGE_SIZE, TASK_SIZE, MMAP_MIN_ADDR, fdOpen, pageAlignUp, type MmState, type MmStateData, type VmaData } from '../state.js';
import { chooseAddr, insertVma, mergeAround, placeable, rangeFree, unmapRange } from '../vma.js';
import { failedMunmapStates, isENOMEM, unmapped } from '../failure.js';

function validate(s: MmState, op: MmapOp): number | null {
  if (!s.processes[op.pid]) return ESRCH;
  if (op.len <= 0) return EINVAL;
  const off = op.offset ?? 0;
  if (off % PAGE_SIZE !== 0 || off < 0) return EINVAL;
  const len = pageAlignUp(op.len);
  if (len > TASK_SIZE) return ENOMEM;
  if (!op.flags.anonymous) {
    if (op.file === undefined || !fdOpen(s, op.pid, op.file)) return EBADF;
  }
  // VM_GROWSDOWN only for private anonymous memory (do_mmap: file and shared anon → -EINVAL).
  if (op.flags.growsdown && (!op.flags.anonymous || op.flags.shared)) return EINVAL;
  const fixed = op.flags.fixed || op.flags.noreplace === true;
  if (fixed) {
    if (op.addr % PAGE_SIZE !== 0) return EINVAL;
    if (op.addr + len > TASK_SIZE) return ENOMEM;
    if (op.addr < MMAP_MIN_ADDR) return EPERM;
    if (op.flags.noreplace && !rangeFree(s.processes[op.pid]!.vmas, op.addr, op.addr + len)) return EEXIST;
  }
  return null;
}

/** mmap_region at a chosen address. */
function mapAt(s: MmState, op: MmapOp, addr: number): Outcome {
  const len = pageAlignUp(op.len);
  return transition(s, (d: MmStateData) => {
    const proc = d.processes[op.pid]!;
    unmapRange(d, proc, addr, addr + len);
    let file: string | null = null;
    let pgoff = addr / PAGE_SIZE;
    let driver = false;
    if (!op.flags.anonymous) {
      file = op.file!;
      pgoff = (op.offset ?? 0) / PAGE_SIZE;
      const f = d.files[file]!;
      driver = f.driver;
      // A device (VM_PFNMAP) mapped privately must be remapped whole (remap_pfn_range): its ->mmap
      // refuses a private mapping that runs past the end of the device — after mmap_region has
      // unmapped the range (a hole, with MAP_FIXED).
      if (driver && !op.flags.shared && pgoff < f.size && pgoff + len / PAGE_SIZE > f.size) return errno(EINVAL);
    } else if (op.flags.shared) {
      // shmem_zero_setup: shared anonymous memory is a fresh shmem object of this size.
      file = `shmem:${d.nextShmem++}`;
      d.files[file] = { pages: {}, size: len / PAGE_SIZE, driver: false, shmem: true };
      pgoff = 0;
    }
    const v: VmaData = {
      start: addr,
      end: addr + len,
      prot: { read: op.prot.read, write: op.prot.write, exec: op.prot.exec },
      shared: op.flags.shared,
      growsdown: op.flags.growsdown,
      file,
      pgoff,
      uffd: null,
      driver,
      policy: 'default',
      anonVma: null,
      // accountable_mapping: private writable memory is charged.
      account: !op.flags.shared && op.prot.write,
      pages: {},
    };
    insertVma(proc.vmas, v);
    if (!driver) mergeAround(proc.vmas, addr, addr + len, v);
    return addrResult(addr);
  });
}

export const mmap: Action<MmapOp> = {
  apply(s, op) {
    const e = validate(s, op);
    if (e !== null) return { state: s, result: errno(e) };
    const len = pageAlignUp(op.len);
    const fixed = op.flags.fixed || op.flags.noreplace === true;
    const addr = fixed ? op.addr : chooseAddr(s.processes[op.pid]!.vmas as VmaData[], op.addr, len);
    if (addr === null) return { state: s, result: errno(ENOMEM) };
    return mapAt(s, op, addr);
  },
  check(s, op, r: ModelResult): Verdict {
    const canon = mmap.apply(s, op);
    if ('blocked' in canon) return { ok: false, why: canon.blocked };
    if (resultsEqual(canon.result, r)) return { ok: true, state: canon.state };
    const fixed = op.flags.fixed || op.flags.noreplace === true;
    if (r.kind !== 'addr' || fixed || canon.result.kind !== 'addr') {
      return { ok: false, why: `mmap must return ${describeResult(canon.result)}` };
    }
    const vmas = s.processes[op.pid]!.vmas as VmaData[];
    const len = pageAlignUp(op.len);
    if (op.addr !== 0 && placeable(vmas, op.addr, len)) {
      return { ok: false, why: `the hint ${describeResult(addrResult(op.addr))} is free, so mmap must return it` };
    }
    if (!placeable(vmas, r.addr, len)) {
      return { ok: false, why: `${describeResult(r)} is not a free range of ${len} bytes for a new mapping` };
    }
    const o = mapAt(s, op, r.addr);
    return 'blocked' in o ? { ok: false, why: o.blocked } : { ok: true, state: o.state };
  },
  onFailure(s, op, r) {
    if (!isENOMEM(r) || validate(s, op) !== null) return [];
    if (!(op.flags.fixed || op.flags.noreplace === true)) return [s];
    const end = op.addr + pageAlignUp(op.len);
    return [...failedMunmapStates(s, op.pid, op.addr, end), unmapped(s, op.pid, op.addr, end)];
  },
};
