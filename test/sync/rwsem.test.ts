import { describe, expect, it } from 'vitest';
import { block, current, Violation, type Execution, type ExecutionHooks, type Task } from '../../impl/rt/index.js';
import {
  down_read, down_read_killable, down_read_trylock, down_write, down_write_killable, down_write_nested, down_write_trylock,
  downgrade_write, lockdepHooks, rw_semaphore, rwsem_is_contended, rwsem_is_locked, send_sig_kill, SINGLE_DEPTH_NESTING, up_read,
  up_write, EINTR,
} from '../../impl/sync/index.js';
import { dfs, noCrash, runOnce } from './helpers.js';

/** Per-step invariants: never a writer together with readers; never idle with waiters queued. */
function rwHooks(get: () => rw_semaphore | undefined): ExecutionHooks {
  return {
    ...lockdepHooks,
    afterStep: () => {
      const s = get();
      if (s && s.owner !== -1 && s.readers > 0) return new Violation('rwsem-exclusion', `writer ${s.owner} with ${s.readers} readers`);
      // Handoff: the lock is never idle while tasks are queued.
      if (s && s.wait_list.length > 0 && !rwsem_is_locked(s)) return new Violation('rwsem-handoff', 'idle lock with waiters');
      return null;
    },
  };
}

describe('rw_semaphore', () => {
  it('down_write excludes writers and readers over every schedule (2 writers, 1 reader)', () => {
    let sem: rw_semaphore | undefined;
    let maxReaders = 0;
    const r = dfs((e) => {
      const s = new rw_semaphore('mmap_lock');
      sem = s;
      let writers = 0;
      const w = function* (): Task<void> {
        yield* down_write(s);
        if (++writers > 1) throw new Violation('rwsem-exclusion', 'two writers');
        yield 'write';
        writers--;
        up_write(s);
      };
      e.spawn('W1', w);
      e.spawn('W2', w);
      e.spawn('R', function* () { yield* down_read(s); yield 'read'; up_read(s); });
    }, { hooks: rwHooks(() => sem) }, () => { maxReaders = Math.max(maxReaders, sem!.readers); });
    noCrash(r.outcomes);
    expect(r.complete).toBe(true);
    expect(r.failures).toEqual([]);
    expect(r.executions).toBeGreaterThan(20);
    void maxReaders;
  });

  it('readers share: some schedule has two readers inside at once', () => {
    let both = 0;
    let sem: rw_semaphore | undefined;
    const r = dfs((e) => {
      const s = new rw_semaphore('mmap_lock');
      sem = s;
      for (const n of ['R1', 'R2']) e.spawn(n, function* () { yield* down_read(s); yield 'read'; up_read(s); });
    }, {
      hooks: { ...lockdepHooks, afterStep: () => { if (sem!.readers === 2) both++; return null; } },
    });
    expect(r.failures).toEqual([]);
    expect(both).toBeGreaterThan(0);
  });

  /*
   * R1 holds the lock for read; W queues for write; R2 arrives. Writer preference: R2 must queue
   * behind W (RWSEM_FLAG_WAITERS fails its fast path) although only a reader holds the lock.
   */
  function writerPreference(down_read_impl: (s: rw_semaphore) => Task<void>) {
    let sem: rw_semaphore | undefined;
    let r2: number | undefined;
    let sawQueuedBehindWriter = false;
    const hooks: ExecutionHooks = {
      ...lockdepHooks,
      afterStep: (exec: Execution) => {
        const s = sem!;
        // R2 waits in the queue while only readers hold the lock: the writer-preference situation.
        if (s.owner === -1 && s.readers > 0 && s.wait_list.some((w) => w.task === r2) && exec.tasks[r2!]!.block !== null) sawQueuedBehindWriter = true;
        return null;
      },
    };
    const r = dfs((e) => {
      const s = new rw_semaphore('mmap_lock');
      sem = s;
      e.spawn('R1', function* () { yield* down_read(s); yield 'read'; yield 'read'; up_read(s); });
      e.spawn('W', function* () { yield* down_write(s); yield 'write'; up_write(s); });
      r2 = e.spawn('R2', function* () {
        yield* down_read_impl(s);
        if (s.wait_list.some((w) => w.write)) throw new Violation('writer-preference', 'a new reader got the lock past a queued writer');
        yield 'read';
        up_read(s);
      });
    }, { hooks });
    return { r, sawQueuedBehindWriter };
  }

  it('writer preference: a queued writer blocks a new reader (the schedule is shown)', () => {
    const { r, sawQueuedBehindWriter } = writerPreference(down_read);
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
    expect(sawQueuedBehindWriter).toBe(true);
    // The shortest such schedule, replayed with a trace: R1 reads, W queues, R2 queues behind W.
    let sem!: rw_semaphore;
    const { outcome, exec } = runOnce((e) => {
      sem = new rw_semaphore('mmap_lock');
      const s = sem;
      e.spawn('R1', function* () { yield* down_read(s); yield 'read'; yield 'read'; up_read(s); });
      e.spawn('W', function* () { yield* down_write(s); yield 'write'; up_write(s); });
      e.spawn('R2', function* () { yield* down_read(s); yield 'read'; up_read(s); });
    }, { trace: true }, 'v1:2t1.4t2');
    expect(outcome.status).toBe('ok');
    const lines = exec.trace.map((t) => `${exec.tasks[t.task]!.name}:${t.label}${t.blocked ? '(woken)' : ''}`);
    // R1 takes it, W's down_write queues, R2's down_read queues behind W; W runs before R2.
    expect(lines.slice(0, 6)).toEqual(['R1:start', 'R1:down_read', 'W:start', 'W:down_write', 'R2:start', 'R2:down_read']);
    const wGot = lines.indexOf('W:down_write(woken)');
    const r2Got = lines.indexOf('R2:down_read(woken)');
    expect(wGot).toBeGreaterThan(0);
    expect(r2Got).toBeGreaterThan(wGot);
  });

  it('the check catches a reader-preferring rwsem (down_read ignores queued writers)', () => {
    function* reader_preferring_down_read(s: rw_semaphore): Task<void> {
      yield block('down_read', () => s.owner === -1, s);
      s.readers++;
      s.readerIds.push(current().id);
    }
    const { r } = writerPreference(reader_preferring_down_read);
    expect(r.failures.some((o) => o.violation?.property === 'writer-preference')).toBe(true);
  });

  it('recursive down_read with a writer queued: lockdep warns; with lockdep off it deadlocks (cycle via the writer)', () => {
    const build = (e: Execution) => {
      const s = new rw_semaphore('mmap_lock');
      e.spawn('T', function* () { yield* down_read(s); yield 'x'; yield* down_read(s); up_read(s); up_read(s); });
      e.spawn('W', function* () { yield* down_write(s); up_write(s); });
    };
    const on = runOnce(build);
    expect(on.outcome.violation?.report).toContain('WARNING: possible recursive locking detected');
    const off = dfs(build, { lockdep: false });
    const dl = off.failures.find((o) => o.violation?.property === 'deadlock');
    expect(dl?.violation?.message).toMatch(/wait-for cycle (T#0 -> W#1 -> T#0|W#1 -> T#0 -> W#1)/);
  });

  it('down_read_trylock fails while a writer owns or waits; down_write_trylock needs an idle lock', () => {
    const seen: string[] = [];
    runOnce((e) => {
      const s = new rw_semaphore('L');
      e.spawn('R1', function* () {
        yield* down_read(s);
        yield 'hold';
        yield 'hold';
        up_read(s);
      });
      e.spawn('W', function* () { yield* down_write(s); up_write(s); });
      e.spawn('T', function* () {
        seen.push(`r:${yield* down_read_trylock(s)}`);
        seen.push(`w:${yield* down_write_trylock(s)}`);
      });
    }, {}, 'v1:2t1.4t2');
    // At T's attempts R1 holds the lock and W is queued.
    expect(seen).toEqual(['r:false', 'w:false']);
    const { outcome } = runOnce((e) => {
      const s = new rw_semaphore('L');
      e.spawn('T', function* () {
        if (!(yield* down_read_trylock(s))) throw new Error('read trylock on idle lock failed');
        if (yield* down_write_trylock(s)) throw new Error('write trylock with a reader succeeded');
        up_read(s);
        if (!(yield* down_write_trylock(s))) throw new Error('write trylock on idle lock failed');
        if (!rwsem_is_locked(s) || rwsem_is_contended(s)) throw new Error('state');
        up_write(s);
      });
    });
    expect(outcome.status).toBe('ok');
  });

  it('downgrade_write: W→R atomically, wakes queued readers, keeps writers out', () => {
    let sem: rw_semaphore | undefined;
    let readerWokeAtDowngrade = 0;
    const r = dfs((e) => {
      const s = new rw_semaphore('mmap_lock');
      sem = s;
      let downgraded = false;
      e.spawn('D', function* () {
        yield* down_write(s);
        yield 'write';
        const queuedReader = s.wait_list.length > 0 && !s.wait_list[0]!.write;
        downgrade_write(s);
        downgraded = true;
        if (queuedReader) {
          if (s.readers < 2) throw new Violation('downgrade', 'queued reader not granted at downgrade');
          readerWokeAtDowngrade++;
        }
        yield 'read';
        if (s.owner !== -1) throw new Violation('downgrade', 'a writer got in while the downgrader reads');
        up_read(s);
      });
      e.spawn('R', function* () { yield* down_read(s); yield 'read'; up_read(s); });
      e.spawn('W', function* () { yield* down_write(s); if (downgraded && s.readerIds.includes(0)) throw new Violation('downgrade', 'writer with D reading'); up_write(s); });
    }, { hooks: rwHooks(() => sem) });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
    expect(readerWokeAtDowngrade).toBeGreaterThan(0);
  });

  it('down_write_killable / down_read_killable: -EINTR on SIGKILL, and the queue moves on', () => {
    const results: number[] = [];
    let sem: rw_semaphore | undefined;
    const r = dfs((e) => {
      const s = new rw_semaphore('mmap_lock');
      sem = s;
      e.spawn('R1', function* () { yield* down_read(s); yield 'hold'; yield 'hold'; up_read(s); });
      const w = e.spawn('W', function* () {
        const ret = yield* down_write_killable(s);
        results.push(ret);
        if (ret === 0) up_write(s);
      });
      e.spawn('R2', function* () { const ret = yield* down_read_killable(s); if (ret === 0) up_read(s); });
      e.spawn('killer', function* () { yield 'kill'; send_sig_kill(w); });
    }, { preemptionBound: 2, hooks: rwHooks(() => sem) });
    noCrash(r.outcomes);
    expect(r.failures).toEqual([]);
    expect(results).toContain(-EINTR);
    expect(results).toContain(0);
  });

  it('down_write_nested: mmap_write_lock_nested of two mms is fine', () => {
    const { outcome } = runOnce((e) => {
      const a = new rw_semaphore('mm(1)->mmap_lock', 'mmap_lock');
      const b = new rw_semaphore('mm(2)->mmap_lock', 'mmap_lock');
      e.spawn('fork', function* () { yield* down_write(a); yield* down_write_nested(b, SINGLE_DEPTH_NESTING); up_write(b); up_write(a); });
    });
    expect(outcome.status).toBe('ok');
  });

  it('up_write by a non-owner and up_read without a read hold: bad unlock balance', () => {
    for (const lockdep of [true, false]) {
      const a = runOnce((e) => {
        const s = new rw_semaphore('L');
        e.spawn('A', function* () { yield* down_write(s); yield 'x'; yield 'x'; up_write(s); });
        e.spawn('B', function* () { yield 'x'; up_write(s); });
      }, { lockdep }, 'v1:2t1');
      expect(a.outcome.violation?.report).toContain('WARNING: bad unlock balance detected!');
      const b = runOnce((e) => {
        const s = new rw_semaphore('L');
        e.spawn('A', function* () { yield 'x'; up_read(s); });
      }, { lockdep });
      expect(b.outcome.violation?.report).toContain('WARNING: bad unlock balance detected!');
    }
  });
});
