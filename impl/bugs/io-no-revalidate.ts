/**
 * io-no-revalidate — the article's first design question, answered the unsafe way ("Improving
 * page-fault scalability", LWN, LSFMM+BPF 2023): a fault that must wait for file I/O drops its
 * VMA lock (pinning the file), sleeps until the read completes, and then — instead of returning
 * VM_FAULT_RETRY so that the fault "restart[s] from the beginning to catch up with any other
 * address-space changes" (Wilcox's plan, what filemap_fault does since 6.7 under the VMA lock),
 * and instead of holding the VMA lock across the I/O (Hocko's suggestion) — goes on to install the
 * page with the VMA and page-table pointers it found before sleeping, re-taking nothing.
 *
 * Why it breaks (kernel.md I19, I9, I10): while the faulting thread sleeps with no lock, another
 * thread munmaps the range. The zap clears the PTE — which was none anyway — so the installer's
 * own re-check under the PTL (vmf_pte_changed: still pte_none) passes and finish_fault maps the
 * file page into a range that no VMA covers any more (or into the anonymous mapping placed there
 * since), through a vm_area_struct that munmap has freed.
 *
 * The override is impl/mm/filemap.ts filemap_fault with one branch changed (marked "DESIGN"):
 * where the kernel, having dropped the fault lock (fpin != NULL), unlocks the folio and returns
 * VM_FAULT_RETRY, this version returns the locked folio with VM_FAULT_LOCKED — and
 * VM_FAULT_COMPLETED, so that nobody releases the already-dropped lock again (the design knows it
 * dropped the lock; it just does not re-validate). Everything else is line for line the same.
 * Base v6.7: the first generation that calls ->fault (filemap_fault) under the VMA lock.
 */
import type { Task } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import { defineVariant } from '../sim/variant.js';
import type { address_space, file, folio, vm_fault } from '../include/linux/mm_types.js';
import {
  FAULT_FLAG_TRIED, FAULT_FLAG_VMA_LOCK, VM_FAULT_COMPLETED, VM_FAULT_LOCKED, VM_FAULT_MAJOR, VM_FAULT_OOM,
  VM_FAULT_RETRY, VM_FAULT_SIGBUS,
} from '../include/linux/mm_flags.js';
import { VM_BUG_ON } from '../include/linux/mmdebug.js';
import { folio_unlock } from '../sync/bitlock.js';
import { down_read, up_read } from '../sync/rwsem.js';
import { refcount_dec_and_test } from '../sync/refcount.js';

// As in impl/mm/filemap.ts.
const FGP_CREAT = 0x4;
const FGP_FOR_MMAP = 0x40;
const IS_ERR = (f: folio | number | null): f is number => typeof f === 'number';

/**
 * fput() of the file a fault pinned across dropping its lock. The pin may be the last reference
 * (a munmap freed the VMA meanwhile — shared anonymous memory has no other holder): fput from a
 * user task then defers __fput to task_work (fs/file_table.c, TWA_RESUME), run on the way back
 * to user space; the struct file is never freed under the fault. (The simulation does not free
 * files at all.)
 */
function fput(f: file): void {
  refcount_dec_and_test(f.f_count);
}

function sim_assert_fault_locked(vmf: vm_fault): void {
  if (vmf.flags & FAULT_FLAG_VMA_LOCK) k.fn.vma_assert_locked(vmf.vma);
  else k.fn.mmap_assert_locked(vmf.vma.vm_mm);
}

/** filemap_fault's out_retry, as in impl/mm/filemap.ts. */
function* filemap_fault_out_retry(f: folio | null, mapping: address_space, mapping_locked: boolean, fpin: file | null, ret: number): Task<number> {
  yield 'filemap_fault:out_retry';
  if (f) k.fn.folio_put(f);
  if (mapping_locked) up_read(mapping.invalidate_lock);
  if (fpin) fput(fpin);
  return ret | VM_FAULT_RETRY;
}

/** filemap_fault (impl/mm/filemap.ts) with the "we had to drop the fault lock" branch changed. */
function* filemap_fault_no_revalidate(vmf: vm_fault): Task<number> {
  sim_assert_fault_locked(vmf);
  const file = vmf.vma.vm_file!;
  let fpin: file | null = null;
  const mapping = file.f_mapping;
  const inode = mapping.host;
  const index = vmf.pgoff;
  let ret = 0;
  let mapping_locked = false;
  let f: folio | number;

  yield 'filemap_fault:i_size_read';
  if (index >= inode.i_size) return VM_FAULT_SIGBUS;

  f = yield* k.fn.filemap_get_folio(mapping, index);
  let need_find = false;
  if (!IS_ERR(f)) {
    if (!(vmf.flags & FAULT_FLAG_TRIED)) fpin = yield* k.fn.do_async_mmap_readahead(vmf, f);
    if (!f.uptodate) {
      yield* down_read(mapping.invalidate_lock);
      mapping_locked = true;
    }
  } else {
    ret = VM_FAULT_MAJOR;
    fpin = yield* k.fn.do_sync_mmap_readahead(vmf);
    need_find = true;
  }

  for (;;) {
    if (need_find) {
      need_find = false;
      if (!mapping_locked) {
        yield* down_read(mapping.invalidate_lock);
        mapping_locked = true;
      }
      f = yield* k.fn.__filemap_get_folio(mapping, index, FGP_CREAT | FGP_FOR_MMAP, 0);
      if (IS_ERR(f)) {
        if (fpin) return yield* filemap_fault_out_retry(null, mapping, mapping_locked, fpin, ret);
        up_read(mapping.invalidate_lock);
        return VM_FAULT_OOM;
      }
    }
    const folio = f as folio;
    const lk = yield* k.fn.lock_folio_maybe_drop_mmap(vmf, folio, fpin);
    fpin = lk.fpin;
    if (!lk.locked) return yield* filemap_fault_out_retry(folio, mapping, mapping_locked, fpin, ret);

    if (folio.mapping !== mapping) {
      folio_unlock(folio);
      k.fn.folio_put(folio);
      need_find = true;
      continue;
    }
    VM_BUG_ON(folio.index !== index, 'mm/filemap.c: filemap_fault !folio_contains');

    if (!folio.uptodate) {
      if (!mapping_locked) {
        folio_unlock(folio);
        k.fn.folio_put(folio);
        need_find = true;
        continue;
      }
      fpin = yield* k.fn.maybe_unlock_mmap_for_io(vmf, fpin);
      const error = yield* k.fn.filemap_read_folio(file, folio);
      if (fpin) return yield* filemap_fault_out_retry(folio, mapping, mapping_locked, fpin, ret);
      k.fn.folio_put(folio);
      if (!error) {
        need_find = true;
        continue;
      }
      up_read(mapping.invalidate_lock);
      return VM_FAULT_SIGBUS;
    }

    // DESIGN (differs from the kernel): the kernel says "We had to drop the fault lock: return
    // to the arch handler to re-find the VMA and retry" — folio_unlock + out_retry. Here the
    // fault goes on with the folio it waited for: it drops the file pin, and returns the locked
    // folio for finish_fault to map, with VM_FAULT_COMPLETED because the lock is already gone.
    let completed = 0;
    if (fpin) {
      fput(fpin);
      fpin = null;
      completed = VM_FAULT_COMPLETED;
    }
    if (mapping_locked) up_read(mapping.invalidate_lock);

    yield 'filemap_fault:i_size_read';
    if (index >= inode.i_size) {
      folio_unlock(folio);
      k.fn.folio_put(folio);
      return VM_FAULT_SIGBUS | completed;
    }
    vmf.page = folio;
    return ret | VM_FAULT_LOCKED | completed;
  }
}

export default defineVariant({
  name: 'io-no-revalidate',
  base: 'v6.7',
  description:
    'filemap_fault under the VMA lock drops the lock to wait for the read and then, instead of ' +
    'returning VM_FAULT_RETRY, returns the page for finish_fault to map without re-finding the VMA: ' +
    'a munmap during the I/O leaves pte_none, so the PTL re-check passes and the file page is mapped ' +
    'into a range no VMA covers (or over the anonymous mapping placed there since).',
  reverts: 'design: the article\'s "restart from the beginning" after I/O (filemap_fault\'s fpin → VM_FAULT_RETRY) left out',
  scenario: 'unmap-during-io',
  overrides: { filemap_fault: filemap_fault_no_revalidate },
});
