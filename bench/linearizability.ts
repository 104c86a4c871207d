/**
 * Time to decide a 3-task × 8-operation history (one shared address space, so no partitioning
 * helps) against the model. Target: < 10 ms median.
 */
import { initialState, type ModelOp, type Prot } from '../model/index.js';
import { checkLinearizability } from '../properties/linearizability/index.js';
import { interleave, prng } from '../properties/linearizability/generate.js';

const BASE = 0x10000;
const RW: Prot = { read: true, write: true, exec: false };
const RO: Prot = { read: true, write: false, exec: false };

function program(seed: number, pid: number): ModelOp[] {
  const rnd = prng(seed);
  const page = (): number => BASE + Math.floor(rnd() * 4) * 4096;
  const ops: ModelOp[] = [];
  for (let i = 0; i < 8; i++) {
    const x = rnd();
    if (x < 0.35) ops.push({ op: 'store', pid, addr: page(), value: Math.floor(rnd() * 100) });
    else if (x < 0.7) ops.push({ op: 'load', pid, addr: page() });
    else if (x < 0.8) ops.push({ op: 'mprotect', pid, addr: page(), len: 4096, prot: rnd() < 0.5 ? RO : RW });
    else if (x < 0.9) ops.push({ op: 'madvise', pid, addr: page(), len: 4096, advice: 'dontneed' });
    else ops.push({ op: 'read_maps', pid, target: pid });
  }
  return ops;
}

export function benchHistory(seed: number) {
  const initial = initialState({ processes: [{ pid: 1, vmas: [{ start: BASE, end: BASE + 4 * 4096, prot: 'rw-' }] }] });
  const programs = [1, 2, 3].map((t) => program(seed * 7 + t, 1));
  return { initial, ...interleave(initial, programs, seed) };
}

export async function benchLinearizability(): Promise<{ medianMs: number }> {
  const times: number[] = [];
  for (let seed = 1; seed <= 41; seed++) {
    const { initial, history } = benchHistory(seed);
    const t0 = performance.now();
    const r = checkLinearizability(initial, history);
    const t1 = performance.now();
    if (r.verdict !== 'ok') throw new Error(`bench history ${seed} judged ${r.verdict}`);
    if (seed > 1) times.push(t1 - t0); // the first run warms up the JIT
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)]! };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchLinearizability().then((r) => console.log(JSON.stringify({ linearizability: r })));
}
