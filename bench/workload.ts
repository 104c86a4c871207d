/**
 * The synthetic lock workload of the runtime benchmark: 3 tasks contend for 2 spinlocks made
 * from block(); each task runs `rounds` rounds of lock, two steps inside, unlock, one step
 * outside — 1 + 5·rounds steps per task (61 with the default 12 rounds, 183 per run).
 * The wait ops are allocated once per task, so what is measured is the runtime, not the workload.
 */
import { block, type BlockOp, type Execution, type Task } from '../impl/rt/index.js';

class BenchLock {
  owner = -1;
  constructor(readonly name: string) {}
}

export const WORKLOAD_TASKS = 3;
export const WORKLOAD_ROUNDS = 12;

export function lockWorkload(exec: Execution, rounds = WORKLOAD_ROUNDS): void {
  const locks = [new BenchLock('lock_a'), new BenchLock('lock_b')];
  for (let id = 0; id < WORKLOAD_TASKS; id++) exec.spawn(`T${id}`, () => lockTask(id, locks, rounds));
}

/**
 * A module-level generator function, not a `function*` literal per spawn: every generator
 * function closure gets its own prototype object, hence its generators their own hidden class,
 * which V8 keeps in old space — a per-run cost a hot campaign should not pay.
 */
function* lockTask(id: number, locks: readonly BenchLock[], rounds: number): Task<void> {
  const waits: BlockOp[] = locks.map((l) => block('spin_lock', () => l.owner < 0, l, () => [l.owner]));
  for (let r = 0; r < rounds; r++) {
    const i = (r + id) & 1;
    const l = locks[i]!;
    yield waits[i]!;
    l.owner = id;
    yield 'read';
    yield 'write';
    yield 'spin_unlock';
    l.owner = -1;
    yield 'work';
  }
}

/**
 * The same workload with no runtime at all: the three generators stepped round-robin by a bare
 * loop that only honours the wait ops (a blocked task is skipped while its condition is false).
 * Returns the steps taken. This is the floor any scheduler pays: one generator resume per step.
 */
export function bareLockLoop(rounds = WORKLOAD_ROUNDS): number {
  const locks = [new BenchLock('lock_a'), new BenchLock('lock_b')];
  const gens: Task<void>[] = [];
  for (let id = 0; id < WORKLOAD_TASKS; id++) gens.push(lockTask(id, locks, rounds));
  const waits: (BlockOp | null)[] = [null, null, null];
  const done = [false, false, false];
  let steps = 0;
  let live = WORKLOAD_TASKS;
  let i = 0;
  while (live > 0) {
    const w = waits[i]!;
    if (!done[i] && (w === null || w.until())) {
      const r = gens[i]!.next();
      steps++;
      if (r.done === true) {
        done[i] = true;
        live--;
      } else {
        const op = r.value;
        waits[i] = typeof op !== 'string' && op.k === 'block' ? op : null;
      }
    }
    i = i + 1 === WORKLOAD_TASKS ? 0 : i + 1;
  }
  return steps;
}

export function workloadSteps(rounds = WORKLOAD_ROUNDS): number {
  return WORKLOAD_TASKS * (1 + 5 * rounds);
}
