/**
 * Kernel: block/blk-core.c (submit_bio), block/bio.c (bio_endio), mm/page_io.c (swap_read_folio,
 * swap_writepage, __swap_writepage, end_swap_bio_read, end_swap_bio_write), fs/mpage.c
 * (mpage_read_folio, mpage_end_io), fs/buffer.c (block_write_full_folio) — an asynchronous block
 * device under the page cache and the swap device, plus the simulation's kernel bring-up.
 *
 * A read is submitted with the folio locked and !uptodate; the completion daemon (`kblockd`, a
 * kernel thread spawned by sim_kernel_init) completes in-flight bios in its own steps, in an order
 * the scheduler chooses (requests complete out of order): the DMA copies the data from the
 * backing store (inode->disk or the swap slot), then bio_endio marks the folio uptodate and
 * unlocks it (mpage_end_io / end_swap_bio_read), or ends writeback (end_swap_bio_write). So a
 * fault that needs the data really waits for the I/O, and everyone else runs meanwhile.
 *
 * SWP_SYNCHRONOUS_IO devices (zram, pmem, brd) complete in the caller's context
 * (swap_read_folio_bdev_sync / swap_writepage_bdev_sync), still one step for the transfer.
 *
 * I/O errors: with scenario.faultInjection the scheduler may fail a read (bi_status != 0): the
 * folio is unlocked without PG_uptodate, which filemap_fault turns into SIGBUS after its one
 * re-read, and do_swap_page into SIGBUS. Left out: plugging, merging, request queues, zswap,
 * SWP_FS_OPS (swap over NFS), readahead batching (one bio per folio).
 */
import type { Task } from '../rt/task.js';
import { block, choose, step } from '../rt/task.js';
import { k } from '../sim/kernel.js';
import type { ScenarioSpec } from '../sim/scenario.js';
import type { folio, inode } from '../include/linux/mm_types.js';
import { address_space } from '../include/linux/mm_types.js';
import type { swap_info_struct } from '../include/linux/swap.js';
import { SWP_SYNCHRONOUS_IO, swp_offset } from '../include/linux/swap.js';
import { VM_BUG_ON } from '../include/linux/mmdebug.js';
import { folio_lock_class, folio_test_locked, folio_unlock } from '../sync/bitlock.js';
import { sim_lockdep_release } from '../sync/lockdep.js';
import { kasan_check_read, kasan_check_write } from '../sync/kasan.js';
import { should_fail } from '../include/linux/fault_inject.js';

/** Where a bio's data lives on the device. */
export type sim_bio_target =
  | { readonly kind: 'file'; readonly inode: inode; readonly index: number }
  | { readonly kind: 'swap'; readonly si: swap_info_struct; readonly offset: number };

/** struct bio (one folio). */
export interface bio {
  readonly name: string;
  readonly op: 'REQ_OP_READ' | 'REQ_OP_WRITE';
  readonly folio: folio;
  readonly target: sim_bio_target;
  /** bi_status: 0, or an error (BLK_STS_IOERR). */
  bi_status: number;
  /** The data moved by the DMA (written data is captured at submission, like a bio_vec of the page). */
  data: number;
  /** bi_end_io. */
  readonly bi_end_io: (bio: bio) => void;
}

/** The block layer's state in one run: the in-flight bios and the completion daemon. */
export interface sim_blkdev {
  readonly inflight: bio[];
  daemon: number;
  nextBio: number;
  completed: number;
}

const BLK_STS_OK = 0;
const BLK_STS_IOERR = 10;

/** This run's block device. */
export function sim_blkdev_state(): sim_blkdev {
  return k.state<sim_blkdev>('blkdev', () => ({ inflight: [], daemon: -1, nextBio: 1, completed: 0 }));
}

function bio_alloc(op: bio['op'], f: folio, target: sim_bio_target, end_io: (b: bio) => void): bio {
  const st = k.fn.sim_blkdev_state();
  return { name: `bio#${st.nextBio++}(${op === 'REQ_OP_READ' ? 'R' : 'W'} ${f.name})`, op, folio: f, target, bi_status: BLK_STS_OK, data: 0, bi_end_io: end_io };
}

/** The DMA: move the data between the folio's memory and the device. */
function* sim_bio_transfer(b: bio): Task<void> {
  if (b.op === 'REQ_OP_READ') {
    // Reads may fail once the scenario's setup is done (k.faultInjection).
    if (yield* should_fail('bio:ioerr')) {
      b.bi_status = BLK_STS_IOERR;
      return;
    }
    const t = b.target;
    if (t.kind === 'file') {
      b.data = t.inode.disk[t.index] ?? 0;
    } else {
      t.si.reads++;
      b.data = t.si.slots[t.offset] ?? 0;
    }
    kasan_check_write(b.folio, 'bio DMA (read into folio)');
    b.folio.data = b.data;
  } else {
    const t = b.target;
    if (t.kind === 'file') {
      t.inode.disk[t.index] = b.data;
    } else {
      t.si.writes++;
      t.si.slots[t.offset] = b.data;
    }
  }
}

/** bio_endio(): run the completion. */
export function bio_endio(b: bio): void {
  b.bi_end_io(b);
}

/** submit_bio(): queue the bio for the completion daemon (the request is now in flight). */
export function* submit_bio(b: bio): Task<void> {
  if (b.op === 'REQ_OP_WRITE') {
    kasan_check_read(b.folio, 'submit_bio (write from folio)');
    b.data = b.folio.data;
  }
  yield step('submit_bio', b);
  const st = k.fn.sim_blkdev_state();
  if (b.op === 'REQ_OP_READ' && st.daemon >= 0 && b.folio.lockOwner >= 0) {
    // The folio lock now belongs to the I/O: the completion unlocks it. (Lockdep would otherwise
    // see the submitter's later folio_lock — waiting for its own read — as recursive locking.)
    sim_lockdep_release(b.folio, folio_lock_class, 'submit_bio', b.folio.lockOwner);
    b.folio.lockOwner = st.daemon;
  }
  st.inflight.push(b);
}

/** submit_bio_wait(): a synchronous device does the transfer in the caller's context. */
export function* submit_bio_wait(b: bio): Task<number> {
  if (b.op === 'REQ_OP_WRITE') {
    kasan_check_read(b.folio, 'submit_bio_wait (write from folio)');
    b.data = b.folio.data;
  }
  yield step('submit_bio_wait', b);
  yield* sim_bio_transfer(b);
  return b.bi_status === BLK_STS_OK ? 0 : -5;
}

/**
 * The completion daemon (kblockd + the device's interrupt handler): forever, wait for an
 * in-flight bio, let the scheduler pick which one completes next, do its DMA, then bio_endio in
 * the next step.
 */
function* sim_blk_complete_daemon(): Task<void> {
  const st = k.fn.sim_blkdev_state();
  for (;;) {
    yield block('kblockd:wait_for_bio', () => st.inflight.length > 0, 'request_queue');
    const i = st.inflight.length > 1 ? yield* choose(st.inflight.length, 'kblockd:which_bio') : 0;
    const b = st.inflight.splice(i, 1)[0]!;
    yield* sim_bio_transfer(b);
    yield step('bio_endio', b);
    k.fn.bio_endio(b);
    st.completed++;
  }
}

// ---------------------------------------------------------------------------------------------
// File data (fs/mpage.c, fs/buffer.c)

/** folio_end_read(folio, success) (mm/filemap.c): mark uptodate on success, then unlock. */
function folio_end_read(f: folio, success: boolean): void {
  if (success) f.uptodate = true;
  folio_unlock(f);
}

/** mpage_end_io for a read. */
function mpage_end_io(b: bio): void {
  folio_end_read(b.folio, b.bi_status === BLK_STS_OK);
}

/**
 * mapping->a_ops->read_folio = mpage_read_folio(): start reading a locked, !uptodate page-cache
 * folio from the file's blocks. Returns 0 at once; the folio is unlocked when the read completes.
 */
export function* mpage_read_folio(f: folio): Task<number> {
  VM_BUG_ON(!folio_test_locked(f), 'fs/mpage.c: mpage_read_folio !folio_test_locked');
  VM_BUG_ON(f.uptodate, 'fs/mpage.c: mpage_read_folio folio_test_uptodate');
  const mapping = f.mapping;
  if (!(mapping instanceof address_space)) throw new Error(`mpage_read_folio: ${f.name} is not a page-cache folio`);
  yield* k.fn.submit_bio(bio_alloc('REQ_OP_READ', f, { kind: 'file', inode: mapping.host, index: f.index }, mpage_end_io));
  return 0;
}

/** end_buffer_async_write → folio_end_writeback for a file folio. */
function end_file_write(b: bio): void {
  if (b.bi_status !== BLK_STS_OK) b.folio.dirty = true;
  k.fn.folio_end_writeback(b.folio);
}

/**
 * block_write_full_folio() (mapping->a_ops->writepage): write a locked dirty file folio back:
 * folio_start_writeback, folio_unlock, submit. The daemon ends the writeback.
 */
export function* block_write_full_folio(f: folio): Task<number> {
  VM_BUG_ON(!folio_test_locked(f), 'fs/buffer.c: block_write_full_folio !folio_test_locked');
  const mapping = f.mapping;
  if (!(mapping instanceof address_space)) throw new Error(`block_write_full_folio: ${f.name} is not a page-cache folio`);
  k.fn.folio_start_writeback(f);
  const b = bio_alloc('REQ_OP_WRITE', f, { kind: 'file', inode: mapping.host, index: f.index }, end_file_write);
  folio_unlock(f);
  yield* k.fn.submit_bio(b);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Swap I/O (mm/page_io.c)

/** end_swap_bio_read / __end_swap_bio_read. */
function end_swap_bio_read(b: bio): void {
  if (b.bi_status === BLK_STS_OK) b.folio.uptodate = true;
  folio_unlock(b.folio);
}

/** end_swap_bio_write / __end_swap_bio_write: on error the folio is redirtied. */
function end_swap_bio_write(b: bio): void {
  if (b.bi_status !== BLK_STS_OK) b.folio.dirty = true;
  k.fn.folio_end_writeback(b.folio);
}

/**
 * swap_read_folio(folio, synchronous) (mm/page_io.c, 6.8 signature): read folio->swap into the
 * locked, !uptodate folio. Synchronous (the caller asked, or SWP_SYNCHRONOUS_IO):
 * swap_read_folio_bdev_sync, done when this returns; else swap_read_folio_bdev_async: the
 * completion daemon unlocks the folio later.
 */
export function* swap_read_folio(f: folio, synchronous: boolean): Task<void> {
  const si = k.fn.swp_swap_info(f.swap);
  VM_BUG_ON(!f.swapcache && !synchronous, 'mm/page_io.c: swap_read_folio !folio_test_swapcache && !synchronous');
  VM_BUG_ON(!folio_test_locked(f), 'mm/page_io.c: swap_read_folio !folio_test_locked');
  VM_BUG_ON(f.uptodate, 'mm/page_io.c: swap_read_folio folio_test_uptodate');
  if (!si) throw new Error(`swap_read_folio: no swap device for entry ${f.swap}`);
  const b = bio_alloc('REQ_OP_READ', f, { kind: 'swap', si, offset: swp_offset(f.swap) }, end_swap_bio_read);
  if (synchronous || (si.flags & SWP_SYNCHRONOUS_IO) !== 0) {
    yield* k.fn.submit_bio_wait(b);
    end_swap_bio_read(b);
  } else {
    yield* k.fn.submit_bio(b);
  }
}

/**
 * swap_writepage(folio) (mm/page_io.c): write a locked swap-cache folio to its slot. If no swap
 * PTE references the entry any more, just free the swap instead (folio_free_swap). Else
 * __swap_writepage: folio_start_writeback, folio_unlock, and either complete in the caller
 * (SWP_SYNCHRONOUS_IO) or submit for the daemon. Returns 0 (AOP_WRITEPAGE_ACTIVATE is left out).
 */
export function* swap_writepage(f: folio): Task<number> {
  VM_BUG_ON(!folio_test_locked(f), 'mm/page_io.c: swap_writepage !folio_test_locked');
  if (k.fn.folio_free_swap(f)) {
    folio_unlock(f);
    return 0;
  }
  const si = k.fn.swp_swap_info(f.swap);
  if (!si) throw new Error(`swap_writepage: no swap device for entry ${f.swap}`);
  k.fn.folio_start_writeback(f);
  const b = bio_alloc('REQ_OP_WRITE', f, { kind: 'swap', si, offset: swp_offset(f.swap) }, end_swap_bio_write);
  folio_unlock(f);
  if ((si.flags & SWP_SYNCHRONOUS_IO) !== 0) {
    yield* k.fn.submit_bio_wait(b);
    end_swap_bio_write(b);
  } else {
    yield* k.fn.submit_bio(b);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Bring-up

/**
 * sim_kernel_init(scenario): what the kernel has running before user space starts: the block
 * device's completion daemon, and the swap device (swapon of scenario.swapSlots slots,
 * SWP_SYNCHRONOUS_IO per k.cfg.swap_synchronous_io). Runs first in the setup task.
 */
export function* sim_kernel_init(scenario: ScenarioSpec): Task<void> {
  const st = k.fn.sim_blkdev_state();
  if (st.daemon < 0) st.daemon = k.exec.spawn('kblockd', sim_blk_complete_daemon, { daemon: true });
  if ((scenario.swapSlots ?? 0) > 0) k.fn.sim_swapon(scenario.swapSlots!, k.cfg.swap_synchronous_io);
  yield 'sim_kernel_init';
}
