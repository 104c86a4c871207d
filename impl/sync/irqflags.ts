/**
 * Kernel: include/linux/irqflags.h, include/linux/preempt.h — IRQ-disabled and preempt-disabled
 * contexts. Both make sleeping illegal (might_sleep) and both are RCU read-side sections of the
 * consolidated RCU flavour (synchronize_rcu waits for them); an IRQs-off section is also what
 * synchronize_irqs_off() (the tlb_remove_table_sync_one IPI) waits for — GUP-fast relies on it.
 *
 * Plain functions, atomic with the caller's current step. local_irq_disable/enable is a flag (not
 * nesting, as on x86); local_irq_save/restore return and restore the previous state.
 */
import { current, currentExecution, inTask } from '../rt/execution.js';
import { Violation } from '../rt/task.js';
import { sim_current_sync, sim_task_label, sim_task_sync_peek, type sim_task_sync } from './sched.js';
import { sim_fp_read } from '../rt/track.js';
import { RCU_GP } from './rcu.js';

/** Enter a preempt-disabled section (spin_lock does this). */
export function sim_preempt_inc(s: sim_task_sync): void {
  if (s.preempt++ === 0) {
    s.preemptStart = currentExecution().step;
    sim_fp_read(RCU_GP); // an RCU-sched reader begins (see rcu.ts)
  }
}

/** Leave a preempt-disabled section. */
export function sim_preempt_dec(s: sim_task_sync): void {
  if (s.preempt > 0 && --s.preempt === 0) s.preemptStart = -1;
}

export function preempt_disable(): void {
  if (inTask()) sim_preempt_inc(sim_current_sync());
}

export function preempt_enable(): void {
  if (!inTask()) return;
  const s = sim_current_sync();
  if (s.preempt === 0) {
    throw new Violation('lockdep', `preempt_enable() without preempt_disable() in ${sim_task_label(current())}`, [
      `WARNING: preempt count underflow in ${sim_task_label(current())} at ${current().label}`,
    ]);
  }
  sim_preempt_dec(s);
}

/** in_atomic(): preempt count raised (a spinlock held) or IRQs off. */
export function in_atomic(): boolean {
  if (!inTask()) return false;
  const s = sim_task_sync_peek(current());
  return s !== undefined && (s.preempt > 0 || s.irqsOff > 0);
}

export function local_irq_disable(): void {
  if (!inTask()) return;
  const s = sim_current_sync();
  if (s.irqsOff === 0) {
    s.irqsOff = 1;
    s.irqStart = currentExecution().step;
    sim_fp_read(RCU_GP);
  }
}

export function local_irq_enable(): void {
  if (!inTask()) return;
  const s = sim_current_sync();
  s.irqsOff = 0;
  s.irqStart = -1;
}

/** local_irq_save(): disable IRQs, return the previous state (1: they were already off). */
export function local_irq_save(): number {
  if (!inTask()) return 0;
  const was = sim_current_sync().irqsOff;
  local_irq_disable();
  return was;
}

/** local_irq_restore(): back to the state local_irq_save returned. */
export function local_irq_restore(flags: number): void {
  if (flags === 0) local_irq_enable();
  else local_irq_disable();
}

export function irqs_disabled(): boolean {
  if (!inTask()) return false;
  const s = sim_task_sync_peek(current());
  return s !== undefined && s.irqsOff > 0;
}
