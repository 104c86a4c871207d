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
