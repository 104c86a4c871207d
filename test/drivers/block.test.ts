/**
 * drivers/block.ts: reads are completed by the kblockd daemon in its own steps (the submitter
 * waits on the folio lock and everyone else runs meanwhile); SWP_SYNCHRONOUS_IO completes in the
 * caller; writes end writeback at completion; injected read errors leave the folio !uptodate.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../impl/rt/task.js';
import type { Kernel } from '../../impl/sim/kernel.js';
import { folio_lock, folio_wait_locked } from '../../impl/sync/bitlock.js';
import type { folio } from '../../impl/include/linux/mm_types.js';
import { ioRun, why } from '../mm/io_harness.js';

function* readPage(k: Kernel, name: string, index: number): Task<folio> {
  const mapping = k.files.get(name)!.f_mapping;
  const f = (yield* k.fn.folio_alloc())!;
  expect(yield* k.fn.filemap_add_folio(mapping, f, index, 0)).toBe(0);
  yield* k.fn.mpage_read_folio(f);
  return f;
}

describe('block device (submit_bio, kblockd completion)', () => {
  it('an async read completes in the daemon: the reader sleeps on the folio lock while others run', () => {
    const order: string[] = [];
    let seenLocked = false;
    const r = ioRun({
      gen: 'v6.6',
      files: [{ name: 'f', pages: [7, 8] }],
      tasks: [
        ['reader', 0, function* (k) {
          const f = yield* readPage(k, 'f', 1);
          seenLocked = f.lockOwner !== -1 && !f.uptodate;
          order.push('submitted');
          yield* folio_wait_locked(f);
          order.push('woken');
          return { data: f.data, uptodate: f.uptodate };
        }],
        ['other', 0, function* () {
          yield 'other:a';
          order.push('other ran');
          yield 'other:b';
        }],
      ],
      script: [{ task: 'reader', until: 'folio_wait_locked' }, { task: 'other', until: 'other:b' }],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(seenLocked).toBe(true);
    expect(order).toEqual(['submitted', 'other ran', 'woken']);
    expect(r.results.get('reader')).toEqual({ data: 8, uptodate: true });
    expect(r.labels('kblockd')).toContain('bio_endio');
  });

  it('a read error (fault injection) unlocks the folio without PG_uptodate: pread gives -EIO', () => {
    const r = ioRun({
      gen: 'v6.6',
      files: [{ name: 'f', pages: [5] }],
      faultInjection: true,
      scheduler: { name: 'fail-io', pick: (_r, _n, d) => d, choose: (_n, _s, _t, label) => (label === 'bio:ioerr' ? 1 : 0) },
      tasks: [['reader', 0, function* (k) { return yield* k.fn.filemap_read(k.files.get('f')!, 0); }]],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.results.get('reader')).toBe(-5);
  });

  it('swap: SWP_SYNCHRONOUS_IO reads complete in the caller, async ones in kblockd', () => {
    for (const sync of [true, false]) {
      const r = ioRun({
        gen: 'v6.6',
        config: { swap_synchronous_io: sync },
        swapSlots: 4,
        tasks: [['swapin', 0, function* (k) {
          const si = k.fn.swp_swap_info(1)!;
          si.swap_map[2] = 1;
          si.slots[2] = 42;
          const f = (yield* k.fn.folio_alloc())!;
          yield* folio_lock(f);
          f.swap = 2;
          f.swapcache = true;
          yield* k.fn.swap_read_folio(f, false);
          const doneInCaller = f.uptodate;
          yield* folio_wait_locked(f);
          return { doneInCaller, data: f.data };
        }]],
      });
      expect(r.outcome.status, why(r.outcome)).toBe('ok');
      expect(r.results.get('swapin')).toEqual({ doneInCaller: sync, data: 42 });
      expect(r.labels('kblockd').includes('bio_endio')).toBe(!sync);
    }
  });

  it('swap_writepage: the folio is under writeback until kblockd ends it; the slot holds the data', () => {
    const r = ioRun({
      gen: 'v6.6',
      swapSlots: 4,
      tasks: [['writer', 0, function* (k) {
        const f = (yield* k.fn.folio_alloc())!;
        f.data = 99;
        f.uptodate = true;
        f.swapbacked = true;
        yield* folio_lock(f);
        expect(yield* k.fn.add_to_swap(f)).toBe(true);
        // A swap PTE references the entry (else swap_writepage would just free the swap).
        const si = k.fn.swp_swap_info(f.swap)!;
        si.swap_map[f.swap]! += 1;
        yield* k.fn.swap_writepage(f);
        const wb = f.writeback;
        yield* k.fn.folio_wait_writeback(f);
        return { wb, slot: si.slots[f.swap], dirty: f.dirty };
      }]],
    });
    expect(r.outcome.status, why(r.outcome)).toBe('ok');
    expect(r.results.get('writer')).toEqual({ wb: true, slot: 99, dirty: false });
  });
});
