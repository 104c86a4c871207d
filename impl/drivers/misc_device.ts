/**
 * Kernel: drivers/char (a misc character device's file_operations->mmap and its
 * vm_operations_struct), mm/memory.c (remap_pfn_range, remap_pte_range) — device-driver VMAs.
 *
 * Every scenario file whose name starts with "/dev/" becomes a device (sim_register_devices):
 * its pages are the device's memory, and mmap of it calls the driver's ->mmap (file->f_op->mmap)
 * instead of generic_file_mmap. The driver is chosen by the name:
 *  - "/dev/fault…": a driver with ->fault and no ->map_pages (a "legacy" driver): under the VMA
 *    lock 6.7+'s vmf_can_call_fault makes it retry under mmap_lock ("all vm_ops that have a
 *    ->map_pages have been audited and don't need the mmap_lock"; 6.6: no ->fault under the VMA
 *    lock at all).
 *  - "/dev/mmaplock…": a ->fault that relies on the mmap_lock (it walks state protected by it),
 *    asserting mmap_assert_locked — the "drivers depend on mmap_lock" reason ->fault was kept
 *    off the VMA-lock path. "/dev/mmaplock_optin…" is the same driver wrongly declaring
 *    fault_safe_under_vma_lock.
 *  - "/dev/safe…": a ->fault that is safe under the VMA lock and declares it
 *    (vm_operations_struct.fault_safe_under_vma_lock) — honoured only by a configuration that
 *    opts in (k.cfg.driver_fault_opt_in, a design proposal; the kernel uses ->map_pages as the
 *    proxy).
 *  - anything else ("/dev/pfnmap…", the model's driver files): ->mmap sets VM_PFNMAP | VM_IO |
 *    VM_DONTEXPAND | VM_DONTDUMP and prefaults every page of the device with remap_pfn_range
 *    (special PTEs: no struct page refcounting, vm_normal_page() == NULL); no ->fault, so a
 *    missing PTE (beyond the device) is SIGBUS (do_fault's !vma->vm_ops->fault path). A private
 *    (COW) mapping must be remapped whole, so one longer than the rest of the device is refused
 *    with -EINVAL.
 *
 * Device pages are PFNs numbered from 0 (pfn == page offset in the device), so a private
 * mapping's remap_pfn_range leaves vm_pgoff as the mmap offset. The PFN map's PTEs get the
 * device's own protection (writable when the VMA is: pgprot from VM_SHARED|access, as drivers
 * that set vm_page_prot themselves do), so user writes go to the device page as in the model.
 *
 * The fault-based drivers count their VMAs in ->open/->close (misc_vma_open / misc_vma_close:
 * table functions that sleep on the driver's mutex, called by split, fork, mremap and munmap with
 * mmap_lock held). "/dev/kvm…" is a PFN-map device whose ->unlocked_ioctl is KVM's
 * (impl/drivers/kvm.ts: KVM_CREATE_VM registers an MMU notifier); sim_sys_dev_ioctl is ioctl(2).
 *
 * Left out: ->open/->release of the device file, ->access (generic_access_phys: /proc/pid/mem on
 * a PFN map is -EIO), ->pfn_mkwrite, io_remap/pgprot_noncached caching attributes, VM_MIXEDMAP
 * (vmf_insert_pfn from ->fault), track_pfn_remap (PAT).
 */
import type { Task } from '../rt/task.js';
import { step } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import {
  folio, type file, type file_operations, type vm_area_struct, type vm_fault, type vm_operations_struct,
} from '../include/linux/mm_types.js';
import {
  PAGE_SIZE, PMD_SIZE, VM_ACCESS_FLAGS, VM_DONTDUMP, VM_DONTEXPAND, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_IO,
  VM_MAYWRITE, VM_PFNMAP, VM_SHARED, VM_WRITE,
} from '../include/linux/mm_flags.js';
import { EINVAL, ENOMEM } from '../include/linux/errno.js';
import { mutex, mutex_lock, mutex_unlock } from '../sync/mutex.js';
import { KVM_CREATE_VM } from './kvm.js';
import type { DevIoctlOp, ModelResult } from '../../model/ops.js';

const EBADF = 9;
const ENOTTY = 25;
import { BUG_ON, WARN_ON_ONCE } from '../include/linux/mmdebug.js';

/** The memory of one device: a folio per page (PFN = index). */
interface sim_misc_dev {
  readonly name: string;
  readonly kind: 'pfnmap' | 'fault' | 'mmaplock' | 'mmaplock_optin' | 'safe' | 'kvm';
  readonly pages: folio[];
  /** The driver's own lock (struct mutex), taken by ->open / ->close of its VMAs. */
  readonly lock: mutex;
  /** VMAs of this device alive (->mmap and ->open count up, ->close down). */
  nr_vmas: number;
}

const devices = (): Map<file, sim_misc_dev> => k.state('misc_device', () => new Map<file, sim_misc_dev>());

function dev_of(f: file | null): sim_misc_dev {
  const d = f ? devices().get(f) : undefined;
  if (!d) throw new Error(`misc_device: ${f?.name ?? '(no file)'} is not a registered device`);
  return d;
}

/**
 * sim_misc_dev_kind(name): the driver a device file gets — 'pfnmap' (VM_PFNMAP | VM_IO, what the
 * model calls a driver mapping) or one of the ->fault drivers (ordinary file VMAs to the mm).
 */
export function sim_misc_dev_kind(name: string): sim_misc_dev['kind'] {
  return kind_of(name);
}

function kind_of(name: string): sim_misc_dev['kind'] {
  const n = name.slice('/dev/'.length);
  if (n.startsWith('fault')) return 'fault';
  if (n.startsWith('mmaplock_optin')) return 'mmaplock_optin';
  if (n.startsWith('mmaplock')) return 'mmaplock';
  if (n.startsWith('safe')) return 'safe';
  if (n.startsWith('kvm')) return 'kvm';
  return 'pfnmap';
}

// ---------------------------------------------------------------------------------------------
// remap_pfn_range (mm/memory.c)

/** is_cow_mapping(flags). */
function is_cow_mapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/**
 * remap_pfn_range(vma, addr, pfn, size, prot): map `size` bytes of device PFNs at addr with
 * special PTEs. A COW mapping must be remapped whole and records the first PFN in vm_pgoff.
 * Sets VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP (vm_flags_set: the VMA is write-locked).
 * Each PTE table is allocated and locked (pte_alloc_map_lock); every entry must be none (BUG_ON).
 * Locks: mmap_write_lock held (->mmap), the VMA write-locked.
 */
export function* remap_pfn_range(vma: vm_area_struct, addr: number, pfn: number, size: number, writable: boolean): Task<number> {
  const mm = vma.vm_mm;
  const end = addr + size;
  if (WARN_ON_ONCE(addr % PAGE_SIZE !== 0, 'remap_pfn_range: unaligned address')) return -EINVAL;
  k.fn.mmap_assert_write_locked(mm);
  if (k.fn.is_cow_mapping(vma.vm_flags)) {
    if (addr !== vma.vm_start || end !== vma.vm_end) return -EINVAL;
    vma.vm_pgoff = pfn;
  }
  yield* k.fn.vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
  BUG_ON(addr >= end, 'remap_pfn_range: addr >= end');
  const dev = dev_of(vma.vm_file);
  while (addr < end) {
    const next = Math.min((Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE, end);
    // remap_pte_range: pte_alloc_map_lock
    const pmd = k.fn.pmd_off(mm, addr);
    if (yield* k.fn.pte_alloc(mm, pmd)) return -ENOMEM;
    const table = yield* k.fn.pte_offset_map_lock(mm, pmd, addr);
    if (table === null) return -ENOMEM;
    for (; addr < next; addr += PAGE_SIZE, pfn++) {
      yield step('remap_pte_range:set_pte_at', table);
      BUG_ON(k.fn.ptep_get(table, addr).kind !== 'none', 'remap_pte_range: !pte_none');
      const page = dev.pages[pfn]!;
      // set_pte_at(mm, addr, pte, pte_mkspecial(pfn_pte(pfn, prot)))
      // pfn_pte(pfn, prot): PROT_NONE when the VMA's vm_page_prot grants no access.
      const entry = k.fn.pte_mkspecial(k.fn.pte_mkyoung(k.fn.folio_mk_pte(page, writable)));
      const none = (vma.vm_page_prot & VM_ACCESS_FLAGS) === 0;
      k.fn.set_pte_at(mm, addr, table, none && entry.kind === 'present' ? { ...entry, protnone: true } : entry);
    }
    k.fn.pte_unmap_unlock(table);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The drivers' vm_operations_struct

/** The PFN-map driver: no ->fault (everything was mapped by ->mmap). */
const misc_pfnmap_vm_ops: vm_operations_struct = { name: 'misc_pfnmap_vm_ops' };

/**
 * misc_dev_fault(vmf): the device's ->fault: return the device page at vmf->pgoff with a
 * reference (VM_FAULT_SIGBUS beyond the device). __do_fault locks it; finish_fault maps it.
 * Locks: the fault lock the caller holds (mmap_lock, or the VMA lock where the configuration
 * lets this ->fault run under it).
 */
export function* misc_dev_fault(vmf: vm_fault): Task<number> {
  const dev = dev_of(vmf.vma.vm_file);
  yield step('misc_dev_fault:lookup', dev);
  const page = dev.pages[vmf.pgoff];
  if (!page) return VM_FAULT_SIGBUS;
  k.fn.folio_get(page);
  vmf.page = page;
  return 0;
}

/**
 * misc_dev_fault_mmap_locked(vmf): a ->fault that relies on the mmap_lock (e.g. it walks the mm's
 * VMAs or driver state that only mmap_lock serialises): mmap_assert_locked(vma->vm_mm) fires if
 * it is ever called with only the VMA lock held.
 */
export function* misc_dev_fault_mmap_locked(vmf: vm_fault): Task<number> {
  k.fn.mmap_assert_locked(vmf.vma.vm_mm);
  return yield* k.fn.misc_dev_fault(vmf);
}

/**
 * misc_vma_open(vma): ->open of the fault-based drivers' VMAs — a copy of one of its VMAs
 * (split, fork, mremap) is counted under the driver's mutex, as drivers that track their
 * mappings do. Locks: mmap_write_lock held (the caller's); sleeps on the driver mutex.
 */
export function* misc_vma_open(vma: vm_area_struct): Task<void> {
  k.fn.mmap_assert_write_locked(vma.vm_mm);
  const dev = dev_of(vma.vm_file);
  yield* mutex_lock(dev.lock);
  yield step('misc_vma_open:nr_vmas++', dev);
  dev.nr_vmas++;
  mutex_unlock(dev.lock);
}

/**
 * misc_vma_close(vma): ->close: one VMA of the device less (remove_vma). Locks: mmap_lock held
 * (read after munmap's downgrade, else write); sleeps on the driver mutex.
 */
export function* misc_vma_close(vma: vm_area_struct): Task<void> {
  k.fn.mmap_assert_locked(vma.vm_mm);
  const dev = dev_of(vma.vm_file);
  yield* mutex_lock(dev.lock);
  yield step('misc_vma_close:nr_vmas--', dev);
  WARN_ON_ONCE(dev.nr_vmas <= 0, `misc_vma_close: ${dev.name} has no VMA left to close (->open/->close unbalanced)`);
  dev.nr_vmas--;
  mutex_unlock(dev.lock);
}

/**
 * The ops go through the function table (as generic_file_vm_ops does), so that a variant replacing
 * misc_dev_fault, misc_dev_fault_mmap_locked, misc_vma_open or misc_vma_close is seen by the callers.
 */
const misc_dev_fault_op = (vmf: vm_fault): Task<number> => k.fn.misc_dev_fault(vmf);
const misc_dev_fault_mmap_locked_op = (vmf: vm_fault): Task<number> => k.fn.misc_dev_fault_mmap_locked(vmf);
const misc_vma_open_op = (vma: vm_area_struct): Task<void> => k.fn.misc_vma_open(vma);
const misc_vma_close_op = (vma: vm_area_struct): Task<void> => k.fn.misc_vma_close(vma);

const misc_fault_vm_ops: vm_operations_struct = { name: 'misc_fault_vm_ops', fault: misc_dev_fault_op, open: misc_vma_open_op, close: misc_vma_close_op };
const misc_mmaplock_vm_ops: vm_operations_struct = {
  name: 'misc_mmaplock_vm_ops', fault: misc_dev_fault_mmap_locked_op, open: misc_vma_open_op, close: misc_vma_close_op,
};
const misc_mmaplock_optin_vm_ops: vm_operations_struct = {
  name: 'misc_mmaplock_optin_vm_ops', fault: misc_dev_fault_mmap_locked_op, fault_safe_under_vma_lock: true,
  open: misc_vma_open_op, close: misc_vma_close_op,
};
const misc_safe_vm_ops: vm_operations_struct = {
  name: 'misc_safe_vm_ops', fault: misc_dev_fault_op, fault_safe_under_vma_lock: true, open: misc_vma_open_op, close: misc_vma_close_op,
};

/**
 * The fault-based drivers' ->mmap: the vm_ops, and the first VMA counted under the driver mutex.
 * (Their pages are ordinary pages a ->fault hands out: no VM_IO, GUP may reach them.)
 */
function* misc_fault_mmap(dev: sim_misc_dev, vma: vm_area_struct, ops: vm_operations_struct): Task<number> {
  vma.vm_ops = ops;
  yield* mutex_lock(dev.lock);
  dev.nr_vmas++;
  mutex_unlock(dev.lock);
  return 0;
}

/**
 * misc_dev_mmap(file, vma): file->f_op->mmap. PFN-map devices check the range against the device
 * and remap_pfn_range the pages that exist; fault-based devices only install their vm_ops.
 * Locks: mmap_write_lock held, the VMA write-locked (mmap_region).
 */
export function* misc_dev_mmap(f: file, vma: vm_area_struct): Task<number> {
  const dev = dev_of(f);
  switch (dev.kind) {
    case 'fault':
      return yield* misc_fault_mmap(dev, vma, misc_fault_vm_ops);
    case 'mmaplock':
      return yield* misc_fault_mmap(dev, vma, misc_mmaplock_vm_ops);
    case 'mmaplock_optin':
      return yield* misc_fault_mmap(dev, vma, misc_mmaplock_optin_vm_ops);
    case 'safe':
      return yield* misc_fault_mmap(dev, vma, misc_safe_vm_ops);
    case 'kvm':
    case 'pfnmap': {
      vma.vm_ops = misc_pfnmap_vm_ops;
      const pages = (vma.vm_end - vma.vm_start) / PAGE_SIZE;
      // Only the device's pages exist: the rest of the VMA stays unmapped (SIGBUS on access).
      const n = Math.max(0, Math.min(pages, dev.pages.length - vma.vm_pgoff));
      const writable = (vma.vm_flags & VM_WRITE) !== 0;
      // vm_page_prot = the device's protection (vm_get_page_prot(VM_SHARED | access)).
      vma.vm_page_prot = (vma.vm_flags & VM_ACCESS_FLAGS) | VM_SHARED;
      if (n === 0) {
        yield* k.fn.vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
        return 0;
      }
      // A COW PFN map must be remapped whole (remap_pfn_range: -EINVAL otherwise): a private
      // mapping longer than what is left of the device is refused, as drivers do.
      if (k.fn.is_cow_mapping(vma.vm_flags) && n !== pages) return -EINVAL;
      return yield* k.fn.remap_pfn_range(vma, vma.vm_start, vma.vm_pgoff, n * PAGE_SIZE, writable);
    }
  }
}

const misc_fops: file_operations = { name: 'misc_fops', mmap: (f, vma) => k.fn.misc_dev_mmap(f, vma) };
/** /dev/kvm: kvm_chardev_ops' ioctl (virt/kvm/kvm_main.c) beside the PFN-map ->mmap. */
const kvm_fops: file_operations = { name: 'kvm_chardev_ops', mmap: (f, vma) => k.fn.misc_dev_mmap(f, vma), unlocked_ioctl: (f, cmd, arg) => k.fn.kvm_dev_ioctl(f, cmd, arg) };

/**
 * vfs_ioctl(filp, cmd, arg) (fs/ioctl.c) for sim_sys_dev_ioctl: ->unlocked_ioctl, or -ENOTTY.
 */
export function* vfs_ioctl(f: file, cmd: number, arg: number): Task<number> {
  if (!f.f_op?.unlocked_ioctl) return -ENOTTY;
  return yield* f.f_op.unlocked_ioctl(f, cmd, arg);
}

/**
 * sim_sys_dev_ioctl(op): ioctl(2) on a device file the process opened: vfs_ioctl. The result is
 * ok (KVM_CREATE_VM's new descriptor, not modelled), or -errno (-EBADF: no such file).
 */
export function* sim_sys_dev_ioctl(op: DevIoctlOp): Task<ModelResult> {
  const f = k.fn.fget(op.file); // fdget
  if (!f) return { kind: 'errno', errno: -EBADF };
  const cmd = op.cmd === 'KVM_CREATE_VM' ? KVM_CREATE_VM : -1;
  const r = yield* k.fn.vfs_ioctl(f, cmd, 0);
  k.fn.fput(f); // fdput
  return r < 0 ? { kind: 'errno', errno: r } : { kind: 'ok' };
}

/**
 * sim_register_devices(): make every file of the scenario named "/dev/…" a device with the
 * driver its name selects (see the header): device memory from the file's pages,
 * file->f_op = misc_fops. Run at scenario setup (after the files exist, before any mmap).
 */
export function* sim_register_devices(): Task<void> {
  const devs = devices();
  for (const [name, f] of k.files) {
    if (!name.startsWith('/dev/') || devs.has(f)) continue;
    const kind = kind_of(name);
    const pages = f.f_inode.disk.map((v) => {
      const p = new folio(kind === 'pfnmap' || kind === 'kvm');
      p.data = v;
      p.uptodate = true;
      return p;
    });
    devs.set(f, { name, kind, pages, lock: new mutex(`${name}->lock`, 'misc_dev->lock'), nr_vmas: 0 });
    f.f_op = kind === 'kvm' ? kvm_fops : misc_fops;
  }
  yield 'sim_register_devices';
}

/** The number of VMAs of a registered device its driver counts (tests). */
export function sim_misc_dev_nr_vmas(f: file): number {
  return dev_of(f).nr_vmas;
}

/** The device memory of a registered device file (tests, checkers). */
export function sim_misc_dev_pages(f: file): readonly folio[] {
  return dev_of(f).pages;
}
