/** impl/sync: the kernel's synchronisation primitives with lockdep, might_sleep and KASAN built in. */
export * from './sched.js';
export * from './lockdep.js';
export * from './irqflags.js';
export * from './spinlock.js';
export * from './rwsem.js';
export * from './mutex.js';
export * from './seqcount.js';
export * from './rcu.js';
export * from './refcount.js';
export * from './wait.js';
export * from './completion.js';
export * from './bitlock.js';
export * from './kasan.js';
