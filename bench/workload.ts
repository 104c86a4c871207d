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

export function workloadSteps(rounds = WORKLOAD_ROUNDS): number {
  return WORKLOAD_TASKS * (1 + 5 * rounds);
}
