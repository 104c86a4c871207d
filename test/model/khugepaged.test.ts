// khugepaged's anonymous collapse (a daemon's history entry, model/actions/khugepaged_collapse.ts):
// it may always fail (-EAGAIN, nothing changes); when it succeeds, every page of the 2 MiB range
// is populated — contents unchanged, untouched pages now zero pages of their own: smaps counts
// them and UFFDIO_COPY onto them is -EEXIST. It must not succeed where the kernel refuses.
import { describe, expect, it } from 'vitest';
import { EAGAIN, EEXIST, type ModelOp } from '../../model/index.js';
import { K, RO, RW, Seq, err, fixedAnon, ok, v } from './helpers.js';

const HP = 0x40000000;
const PMD = 512 * K;
const collapse: ModelOp = { op: 'khugepaged_collapse', pid: 1, addr: HP };

function withThp(prot = RW): Seq {
  const s = new Seq();
  s.do({ op: 'mmap', pid: 1, addr: HP, len: PMD, prot, flags: fixedAnon() });
  return s;
}

describe('khugepaged_collapse', () => {
  it('canonically does nothing; -EAGAIN is always allowed', () => {
    const s = withThp();
    s.store(1, HP, 5);
    expect(s.do(collapse)).toEqual(err(EAGAIN));
    expect(s.accept(collapse, err(EAGAIN)).ok).toBe(true);
  });

  it('ok populates the range: contents unchanged, smaps Rss the whole 2M, UFFDIO_COPY -EEXIST', () => {
    const s = withThp();
    s.store(1, HP + 3 * K, 5);
    s.load(1, HP + 4 * K); // the zero page
    expect(s.accept(collapse, ok)).toEqual({ ok: true });
    expect(s.load(1, HP + 3 * K)).toEqual(v(5));
    expect(s.load(1, HP + 4 * K)).toEqual(v(0));
    expect(s.load(1, HP + 100 * K)).toEqual(v(0));
    const sm = s.do({ op: 'read_smaps', pid: 1, target: 1 });
    expect(sm.kind === 'smaps' && sm.entries[0]!.rss).toBe(PMD);
    s.do({ op: 'uffd_register', pid: 1, addr: HP, len: PMD, mode: 'missing' });
    expect(s.do({ op: 'uffdio_copy', pid: 1, dst: HP + 200 * K, value: 9 })).toEqual(err(EEXIST));
  });

  it('ok is refused where the kernel does not collapse', () => {
    // nothing populated
    expect(withThp().accept(collapse, ok).ok).toBe(false);
    // not writable (no writable PTE)
    const ro = withThp();
    ro.store(1, HP, 1);
    ro.do({ op: 'mprotect', pid: 1, addr: HP, len: PMD, prot: RO });
    expect(ro.accept(collapse, ok).ok).toBe(false);
    // not PMD-sized: the VMA ends inside the range
    const small = new Seq();
    small.do({ op: 'mmap', pid: 1, addr: HP, len: PMD - K, prot: RW, flags: fixedAnon() });
    small.store(1, HP, 1);
    expect(small.accept(collapse, ok).ok).toBe(false);
    // a userfaultfd-armed VMA with missing pages
    const u = withThp();
    u.store(1, HP, 1);
    u.do({ op: 'uffd_register', pid: 1, addr: HP, len: PMD, mode: 'missing' });
    expect(u.accept(collapse, ok).ok).toBe(false);
    // a file mapping (the file collapse is not this op)
    const f = new Seq({ processes: [{ pid: 1 }], files: { f: { pages: Array.from({ length: 512 }, () => 1) } } });
    f.do({ op: 'mmap', pid: 1, addr: HP, len: PMD, prot: RW, flags: fixedAnon({ anonymous: false }), file: 'f' });
    f.store(1, HP, 2);
    expect(f.accept(collapse, ok).ok).toBe(false);
  });
});

// khugepaged's shmem collapse (collapse_file, 6.4+): every hole of the object's file range becomes
// a zeroed page, seen by every mapper — allowed only when no mapper of that range is registered in
// missing mode at the linearization point (SCAN_EXCEED_NONE_PTE otherwise).
describe('khugepaged_collapse of a shmem range', () => {
  function shm(): Seq {
    const s = new Seq();
    s.do({ op: 'mmap', pid: 1, addr: HP, len: PMD, prot: RW, flags: fixedAnon({ shared: true }) });
    s.store(1, HP, 5);
    return s;
  }

  it('-EAGAIN changes nothing', () => {
    const s = shm();
    expect(s.accept(collapse, err(EAGAIN)).ok).toBe(true);
    s.do({ op: 'uffd_register', pid: 1, addr: HP, len: PMD, mode: 'missing' });
    expect(s.do({ op: 'uffdio_copy', pid: 1, dst: HP + 7 * K, value: 9 })).toEqual(ok);
  });

  it('ok fills every hole of the file range for every mapper: a registration after it finds them present (UFFDIO_COPY -EEXIST)', () => {
    const s = shm();
    expect(s.do({ op: 'fork', pid: 1 })).toEqual({ kind: 'pid', pid: 2 });
    expect(s.accept(collapse, ok)).toEqual({ ok: true });
    expect(s.load(1, HP)).toEqual(v(5));
    expect(s.load(2, HP + 100 * K)).toEqual(v(0));
    s.do({ op: 'uffd_register', pid: 2, addr: HP, len: PMD, mode: 'missing' });
    expect(s.do({ op: 'uffdio_copy', pid: 2, dst: HP + 200 * K, value: 9 })).toEqual(err(EEXIST));
    expect(s.do({ op: 'uffdio_copy', pid: 2, dst: HP + 511 * K, value: 9 })).toEqual(err(EEXIST));
  });

  it('ok is refused while any mapper of the range has a missing-mode registration; wp-only does not refuse', () => {
    // the collapsing process's own VMA
    const own = shm();
    own.do({ op: 'uffd_register', pid: 1, addr: HP, len: PMD, mode: 'missing' });
    const r = own.accept(collapse, ok);
    expect(r.ok).toBe(false);
    expect(r.why).toMatch(/missing-mode userfaultfd/);
    // another process's mapping of one page of the same object (a fork's child, its VMA split)
    const other = shm();
    other.do({ op: 'fork', pid: 1 });
    other.do({ op: 'uffd_register', pid: 2, addr: HP + 511 * K, len: K, mode: 'missing' });
    expect(other.accept(collapse, ok).ok).toBe(false);
    // write-protect mode only: no guarantee that a missing page stays missing
    const wp = shm();
    wp.do({ op: 'uffd_register', pid: 1, addr: HP, len: PMD, mode: 'wp' });
    expect(wp.accept(collapse, ok).ok).toBe(true);
    // another shmem object's armed mapping does not matter
    const two = shm();
    two.do({ op: 'mmap', pid: 1, addr: HP + PMD, len: PMD, prot: RW, flags: fixedAnon({ shared: true }) });
    two.do({ op: 'uffd_register', pid: 1, addr: HP + PMD, len: PMD, mode: 'missing' });
    expect(two.accept(collapse, ok).ok).toBe(true);
  });

  it('ok is refused on a range that is not a whole PMD of the mapping', () => {
    const s = new Seq();
    s.do({ op: 'mmap', pid: 1, addr: HP, len: PMD - K, prot: RW, flags: fixedAnon({ shared: true }) });
    s.store(1, HP, 1);
    expect(s.accept(collapse, ok).ok).toBe(false);
  });
});
