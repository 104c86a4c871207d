import {
  apply,
  check,
  initialState,
  type InitialSpec,
  type MmState,
  type ModelOp,
  type ModelResult,
  type MmapFlags,
  type Prot,
} from '../../model/index.js';

export const K = 4096;
export const A = 0x100000; // a page-aligned base address used throughout
export const RW: Prot = { read: true, write: true, exec: false };
export const RO: Prot = { read: true, write: false, exec: false };
export const NONE: Prot = { read: false, write: false, exec: false };

export const anon = (o: Partial<MmapFlags> = {}): MmapFlags => ({ shared: false, anonymous: true, fixed: false, growsdown: false, ...o });
export const fixedAnon = (o: Partial<MmapFlags> = {}): MmapFlags => anon({ fixed: true, ...o });

/** A little sequential driver over the model's canonical semantics. */
export class Seq {
  state: MmState;
  constructor(spec: InitialSpec | MmState = { processes: [{ pid: 1 }] }) {
    this.state = 'nextPid' in spec ? (spec as MmState) : initialState(spec as InitialSpec);
  }
  do(op: ModelOp): ModelResult {
    const r = apply(this.state, op);
    this.state = r.state;
    return r.result;
  }
  /** Check an observed result; adopt the state on success. */
  accept(op: ModelOp, result: ModelResult): { ok: boolean; why?: string } {
    const c = check(this.state, op, result);
    if (c.ok) {
      this.state = c.state;
      return { ok: true };
    }
    return { ok: false, why: c.why };
  }
  load(pid: number, addr: number): ModelResult {
    return this.do({ op: 'load', pid, addr });
  }
  store(pid: number, addr: number, value: number): ModelResult {
    return this.do({ op: 'store', pid, addr, value });
  }
  maps(pid: number): string[] {
    const r = this.do({ op: 'read_maps', pid, target: pid });
    if (r.kind !== 'maps') throw new Error('no maps');
    return r.lines.map((l) => `${l.start.toString(16)}-${l.end.toString(16)} ${l.perms} ${l.offset.toString(16)} ${l.name}`.trim());
  }
}

export const v = (value: number): ModelResult => ({ kind: 'value', value });
export const ok: ModelResult = { kind: 'ok' };
export const err = (errno: number): ModelResult => ({ kind: 'errno', errno });
export const segv: ModelResult = { kind: 'signal', sig: 'SIGSEGV' };
export const sigbus: ModelResult = { kind: 'signal', sig: 'SIGBUS' };
export const at = (addr: number): ModelResult => ({ kind: 'addr', addr });

/** One process with one private anonymous rw VMA of n pages at A. */
export const oneVma = (n = 4, extra: Partial<InitialSpec> = {}): InitialSpec => ({
  processes: [{ pid: 1, vmas: [{ start: A, end: A + n * K, prot: 'rw-' }] }],
  ...extra,
});
