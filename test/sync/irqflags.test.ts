import { describe, expect, it } from 'vitest';
import {
  in_atomic, irqs_disabled, local_irq_restore, local_irq_save, preempt_disable, preempt_enable, rcu_read_lock_any_held,
  spin_lock, spin_unlock, spinlock_t,
} from '../../impl/sync/index.js';
import { runOnce } from './helpers.js';

describe('irqflags', () => {
  it('local_irq_save/restore nest; preempt_disable and spinlocks make the context atomic', () => {
    const seen: boolean[] = [];
    const { outcome } = runOnce((e) => {
      const l = new spinlock_t('L');
      e.spawn('T', function* () {
        const f1 = local_irq_save();
        const f2 = local_irq_save();
        local_irq_restore(f2);
        seen.push(irqs_disabled(), rcu_read_lock_any_held());
        local_irq_restore(f1);
        seen.push(irqs_disabled());
        preempt_disable();
        seen.push(in_atomic());
        preempt_enable();
        yield* spin_lock(l);
        seen.push(in_atomic(), rcu_read_lock_any_held());
        spin_unlock(l);
        seen.push(in_atomic());
      });
    });
    expect(outcome.status).toBe('ok');
    expect(seen).toEqual([true, true, false, true, true, true, false]);
  });

  it('preempt_enable without preempt_disable is reported', () => {
    const { outcome } = runOnce((e) => { e.spawn('T', function* () { yield 'x'; preempt_enable(); }); });
    expect(outcome.violation?.message).toMatch(/preempt_enable\(\) without preempt_disable\(\)/);
  });

  it('a task ending with IRQs disabled is reported', () => {
    const { outcome } = runOnce((e) => { e.spawn('T', function* () { yield 'x'; local_irq_save(); }); });
    expect(outcome.violation?.report).toContain('IRQs still disabled');
  });
});
