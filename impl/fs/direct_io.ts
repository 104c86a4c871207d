/**
 * Kernel: fs/iomap/direct-io.c (iomap_dio_rw, iomap_dio_bio_iter, iomap_dio_bio_end_io),
 * block/bio.c (bio_iov_iter_get_pages, bio_release_pages), lib/iov_iter.c
 * (iov_iter_extract_pages → iov_iter_extract_user_pages) — O_DIRECT read(2)/write(2) of one
 * file page to or from user memory.
 *
 * The user buffer is pinned with FOLL_PIN (pin_user_pages_fast: GUP-fast, else the slow path,
 * which faults the page in — FOLL_WRITE for a read, whose data the device writes into user
 * memory; a write only reads the buffer, so a shared anonymous page is unshared first). The bio
 * is submitted and the task waits for its completion; the device transfers the data into (read)
 * or out of (write) the pinned page while the I/O is in flight, with no lock on the address space
 * — the page may be unmapped, remapped, COWed in a fork or reclaimed meanwhile, and the pin is what
 * keeps the transfer on the right page (fork copies a maybe-pinned page for the child; reclaim and
 * khugepaged leave it). On completion the pages are unpinned, a read's marked dirty
 * (bio_release_pages → unpin_user_pages_dirty_lock).
 *
 * Left out: the device I/O itself — the data comes from, or goes to, the page cache
 * (filemap_read / generic_perform_write), which is what the file holds after O_DIRECT's
 * filemap_write_and_wait_range and the page-cache invalidation after a write; so a mapped page
 * cache folio is not unmapped by the write's invalidate_inode_pages2_range. Also alignment rules,
 * partial transfers, AIO and the iomap mapping of the file's blocks.
 */
import { step, type Task } from '../rt/task.js';
import { k, current_mm } from '../sim/kernel.js';
import type { file, folio } from '../include/linux/mm_types.js';
import { PAGE_SIZE } from '../include/linux/mm_flags.js';
import { EFAULT, EINVAL } from '../include/linux/errno.js';

const EBADF = 9;
import { kasan_check_read, kasan_check_write } from '../sync/kasan.js';
import { FOLL_WRITE } from '../mm/gup.js';
import type { DioReadOp, DioWriteOp, ModelResult } from '../../model/ops.js';

/**
 * iov_iter_extract_pages for a one-page user buffer: pin it (FOLL_PIN, FOLL_WRITE when the device
 * writes into it). The pinned page, or -errno.
 */
export function* bio_iov_iter_get_pages(addr: number, write_to_user: boolean): Task<folio | number> {
  const pages: folio[] = [];
  const n = yield* k.fn.pin_user_pages_fast(addr - (addr % PAGE_SIZE), 1, write_to_user ? FOLL_WRITE : 0, pages);
  if (n <= 0) return n < 0 ? n : -EFAULT;
  return pages[0]!;
}

/**
 * iomap_dio_rw for an O_DIRECT read of file page `index` into the user buffer at addr: pin, submit,
 * the data lands in the pinned page at I/O completion, unpin (dirty). Returns the bytes read.
 * Locks: none held across the I/O (the inode's lock is shared in the kernel: left out).
 */
export function* iomap_dio_read(fileName: string, index: number, addr: number): Task<number> {
  const file = k.fn.fget(fileName); // fdget (read(2)'s descriptor)
  if (!file) return -EBADF;
  const r = yield* sim_iomap_dio_read(file, index, addr);
  k.fn.fput(file); // fdput
  return r;
}

function* sim_iomap_dio_read(file: file, index: number, addr: number): Task<number> {
  if (file.f_op !== null) return -EINVAL; // a device file: no O_DIRECT here
  yield step('iomap_dio_rw:i_size_read', file.f_mapping);
  if (index >= file.f_inode.i_size) return 0; // nothing to read: no pin, no bio
  const page = yield* k.fn.bio_iov_iter_get_pages(addr, true);
  if (typeof page === 'number') return page;
  // submit_bio: the read is in flight (the device reads what the file holds).
  yield step('iomap_dio_bio_iter:submit_bio', page);
  const v = yield* k.fn.filemap_read(file, index);
  if (v < 0) {
    yield* k.fn.unpin_user_pages_dirty_lock([page], 1, false);
    return v;
  }
  // The DMA into the pinned page, then iomap_dio_bio_end_io → bio_release_pages(bio, true).
  yield step('iomap_dio_bio_end_io:dma', page);
  kasan_check_write(page, 'iomap_dio_bio_end_io (DMA into the pinned user page)');
  page.data = v;
  yield* k.fn.unpin_user_pages_dirty_lock([page], 1, true);
  return PAGE_SIZE;
}

/**
 * iomap_dio_rw for an O_DIRECT write of the user buffer at addr to file page `index`: pin (read
 * only), submit, the device reads the pinned page while the I/O is in flight, unpin. Returns the
 * bytes written.
 */
export function* iomap_dio_write(fileName: string, index: number, addr: number): Task<number> {
  const file = k.fn.fget(fileName); // fdget (write(2)'s descriptor)
  if (!file) return -EBADF;
  const r = yield* sim_iomap_dio_write(file, index, addr);
  k.fn.fput(file); // fdput
  return r;
}

function* sim_iomap_dio_write(file: file, index: number, addr: number): Task<number> {
  if (file.f_op !== null) return -EINVAL;
  if (!Number.isInteger(index) || index < 0) return -EINVAL;
  const page = yield* k.fn.bio_iov_iter_get_pages(addr, false);
  if (typeof page === 'number') return page;
  yield step('iomap_dio_bio_iter:submit_bio', page);
  // The device reads the pinned page (DMA out of user memory).
  kasan_check_read(page, 'iomap_dio_bio_iter (DMA out of the pinned user page)');
  const v = page.data;
  const r = yield* k.fn.generic_perform_write(file, index, v);
  yield step('iomap_dio_bio_end_io', page);
  k.fn.unpin_user_page(page);
  return r < 0 ? r : PAGE_SIZE;
}

/** read(2) on an O_DIRECT file descriptor: the bytes read, or -errno. */
export function* sim_sys_dio_read(op: DioReadOp): Task<ModelResult> {
  if (!current_mm()) return { kind: 'errno', errno: -EFAULT };
  const r = yield* k.fn.iomap_dio_read(op.file, op.page, op.addr);
  return r < 0 ? { kind: 'errno', errno: r } : { kind: 'value', value: r };
}

/** write(2) on an O_DIRECT file descriptor: the bytes written, or -errno. */
export function* sim_sys_dio_write(op: DioWriteOp): Task<ModelResult> {
  if (!current_mm()) return { kind: 'errno', errno: -EFAULT };
  const r = yield* k.fn.iomap_dio_write(op.file, op.page, op.addr);
  return r < 0 ? { kind: 'errno', errno: r } : { kind: 'value', value: r };
}
