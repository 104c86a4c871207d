// TypeOK-style invariants (model/invariants.ts) hold after random operation sequences; and each
// invariant is a check that can fail (DESIGN.md: "A check that cannot fail is a defect").
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { apply, check, enabled, initialState, TypeOK, INVARIANTS, type MmState, type ModelOp, type Prot } from '../../model/index.js';
import { A, K } from './helpers.js';

const prot: fc.Arbitrary<Prot> = fc.record({ read: fc.boolean(), write: fc.boolean(), exec: fc.constant(false) });
const addr = fc.integer({ min: 0, max: 15 }).map((p) => A + p * K);
const len = fc.integer({ min: 1, max: 4 }).map((n) => n * K);
const pid = fc.constantFrom(1, 2);
const val = fc.nat(99);

const opArb: fc.Arbitrary<ModelOp> = fc.oneof(
  fc.record({ op: fc.constant('mmap' as const), pid, addr, len, prot, flags: fc.record({ shared: fc.boolean(), anonymous: fc.boolean(), fixed: fc.boolean(), growsdown: fc.boolean() }), file: fc.constant('f'), offset: fc.constantFrom(0, K) }),
  fc.record({ op: fc.constant('munmap' as const), pid, addr, len }),
  fc.record({ op: fc.constant('mprotect' as const), pid, addr, len, prot }),
  fc.record({ op: fc.constant('mremap' as const), pid, oldAddr: addr, oldLen: len, newLen: len, flags: fc.record({ maymove: fc.boolean(), fixed: fc.boolean(), dontunmap: fc.boolean() }), newAddr: addr }),
  fc.record({ op: fc.constant('madvise' as const), pid, addr, len, advice: fc.constant('dontneed' as const) }),
  fc.record({ op: fc.constant('mbind' as const), pid, addr, len, policy: fc.constantFrom('default', 'bind:0', 'interleave') }),
  fc.record({ op: fc.constant('fork' as const), pid }),
  fc.record({ op: fc.constant('load' as const), pid, addr }),
  fc.record({ op: fc.constant('store' as const), pid, addr, value: val }),
  fc.record({ op: fc.constant('pwrite' as const), pid, file: fc.constant('f'), page: fc.nat(4), value: val }),
  fc.record({ op: fc.constant('proc_mem_write' as const), pid, target: pid, addr, value: val }),
  fc.record({ op: fc.constant('uffd_register' as const), pid, addr, len, mode: fc.constantFrom('missing' as const, 'wp' as const) }),
  fc.record({ op: fc.constant('uffd_unregister' as const), pid, addr, len }),
  fc.record({ op: fc.constant('uffdio_copy' as const), pid, dst: addr, value: val }),
  fc.record({ op: fc.constant('uffdio_move' as const), pid, src: addr, dst: addr }),
  fc.record({ op: fc.constant('uffd_read_event' as const), pid }),
  fc.record({ op: fc.constant('read_smaps' as const), pid, target: pid }),
);

const start = (): MmState =>
  initialState({ processes: [{ pid: 1, vmas: [{ start: A, end: A + 4 * K, prot: 'rw-' }] }, { pid: 2 }], files: { f: { pages: [1, 2] } } });

describe('invariants', () => {
  it('TypeOK holds after random operation sequences, and apply agrees with check', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
        let s = start();
        for (const op of ops) {
          if (enabled(s, op) !== null) continue;
          const r = apply(s, op);
          const c = check(s, op, r.result);
          if (!c.ok) throw new Error(`check refuses apply's own result for ${op.op}: ${c.why}`);
          s = r.state;
          const bad = TypeOK(s);
          if (bad) throw new Error(`${op.op}: ${bad}`);
        }
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('every invariant can fail', () => {
    const s = start();
    const broken: Record<string, MmState> = {
      PageAligned: { ...s, processes: { ...s.processes, 1: { pid: 1, vmas: [{ ...s.processes[1]!.vmas[0]!, start: A + 1 }] } } },
      NonEmptyVmas: { ...s, processes: { ...s.processes, 1: { pid: 1, vmas: [{ ...s.processes[1]!.vmas[0]!, end: A }] } } },
      NoOverlappingVmas: { ...s, processes: { ...s.processes, 1: { pid: 1, vmas: [s.processes[1]!.vmas[0]!, { ...s.processes[1]!.vmas[0]!, start: A + K, end: A + 8 * K }] } } },
      FilePagesWithinSize: { ...s, files: { f: { ...s.files.f!, size: 1 } } },
      UffdOnlyWhereAllowed: { ...s, processes: { ...s.processes, 1: { pid: 1, vmas: [{ ...s.processes[1]!.vmas[0]!, uffd: 'missing' }] } } },
    };
    for (const [name, st] of Object.entries(broken)) expect(INVARIANTS[name]!(st), name).not.toBeNull();
    expect(TypeOK(s)).toBeNull();
  });
});
