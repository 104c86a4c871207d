/**
 * Kernel: fs/file_table.c (get_file (include/linux/fs.h), fput, ____fput, delayed_fput, __fput,
 * file_free), fs/file.c (fget/fdget on the descriptor table, close_fd → pick_file + filp_close,
 * dup_fd at fork, exit_files/close_files at exit), kernel/task_work.c (task_work_add,
 * task_work_run) — the lifetime of struct file, as Linux 6.6 has it.
 *
 * A struct file is a KASAN object of the "filp" cache. Its references (f_count): one per
 * descriptor-table entry (each process's table holds the scenario's files, opened before the
 * processes were created; fork's dup_fd takes one per open file), one per VMA mapping it
 * (mmap_region: vma->vm_file = get_file(file); vm_area_dup's users — __split_vma, dup_mmap,
 * copy_vma — take one for the copy; remove_vma and vma_complete drop theirs), the pin a fault
 * takes before dropping its lock for I/O (maybe_unlock_mmap_for_io), and fdget's reference for
 * the duration of a syscall (fget: the table is shared by the process's threads).
 *
 * The last fput does not free the file where it is: a user task queues ____fput as task work
 * (task_work_add(current, TWA_RESUME)) that runs on its way back to user space (task_work_run:
 * after each syscall and fault, sim_exit_to_user_mode; at do_exit's exit_task_work), so the
 * caller — say munmap's remove_vma — may still use the file until it returns; a kernel thread
 * (reclaim, khugepaged, the RCU callbacks) and a task past exit_task_work hand it to delayed_fput
 * (schedule_delayed_work: modelled as a callback of the RCU kthread (call_rcu), i.e. later than
 * the kernel's worker at the earliest, which delays the free and hides no use by the caller).
 * __fput then runs the release and frees the struct: file_free → call_rcu(file_free_rcu) (6.6;
 * 6.7+ makes filp SLAB_TYPESAFE_BY_RCU, 0ede61d8589c, and frees at once into a cache whose
 * objects stay struct files through RCU readers — the simulation keeps the 6.6 form in every
 * generation: nothing here looks files up locklessly (get_file_rcu)). A use after that, by a
 * path that held no reference (a fault that dropped its lock for I/O without pinning the file, a
 * walker that kept vma->vm_file past the VMA's lifetime), is a KASAN use-after-free where the
 * path dereferences the file (get_file/fput, filemap_fault, the fault-around, /proc/pid/maps).
 *
 * Descriptors are named by the scenario file (the model's operations name files, not numbers):
 * sim_process.files. Left out: ->flush/->release (no file here has one), the dentry/mount/inode
 * references of __fput (the inode and its page cache live for the whole run; a shmem object's
 * inode is not freed with its last file), O_CLOEXEC, dup/dup2, fd numbers and their reuse.
 */
import type { Task } from '../rt/task.js';
import { current, currentExecution, inTask } from '../rt/execution.js';
import { k, type sim_process } from '../sim/kernel.js';
import type { file } from '../include/linux/mm_types.js';
import { refcount_dec_and_test, refcount_inc } from '../sync/refcount.js';
import { kasan_check_write, kmem_cache_create, kmem_cache_free, sim_kasan_meta, sim_kasan_track } from '../sync/kasan.js';
import { call_rcu } from '../sync/rcu.js';
import { sim_task_label } from '../sync/sched.js';
import type { Execution } from '../rt/execution.js';
import type { CloseOp, ModelResult } from '../../model/ops.js';

const EBADF = 9;

/** filp_cachep: struct file objects. */
const filp_cachep = kmem_cache_create<file>('filp', () => {
  throw new Error('struct file objects are built by their creator (sim_alloc_file) and tracked');
});

/**
 * alloc_empty_file (fs/file_table.c) for a file the scenario opens before its processes exist, or
 * that shmem_zero_setup creates: register the struct as a "filp" object. f_count 1 (the caller's).
 */
export function sim_alloc_file(f: file, exec?: Execution): file {
  return sim_kasan_track(f, filp_cachep, 'alloc_empty_file', exec);
}

/** get_file(f) (include/linux/fs.h): take a reference the caller already guarantees is not the first. */
export function get_file(f: file): file {
  kasan_check_write(f, 'get_file');
  refcount_inc(f.f_count);
  return f;
}

/**
 * fput(f): drop a reference; the last one defers __fput — task work of a user task (run on its way
 * back to user space), delayed_fput for a kernel thread. Never frees under the caller.
 */
export function fput(f: file): void {
  kasan_check_write(f, 'fput');
  if (!refcount_dec_and_test(f.f_count)) return;
  if (!inTask()) {
    k.fn.__fput(f); // outside any task (a test's setup): nothing can run in between
    return;
  }
  const th = k.threads.get(current().id);
  // likely(!in_interrupt() && !(task->flags & PF_KTHREAD)): task_work_add(task, ____fput, TWA_RESUME)
  if (th !== undefined && !th.sim_task_work_exited) {
    (th.task_works ??= []).push(f);
    return;
  }
  // After exit_task_work (or from a kthread): delayed_fput_list + schedule_delayed_work.
  const m = sim_kasan_meta(f);
  if (m !== undefined) m.rcuQueued = { task: sim_task_label(current()), site: 'fput: delayed_fput', step: currentExecution().step };
  call_rcu(f, (x) => k.fn.delayed_fput(x));
}

/** delayed_fput(work): the delayed-fput worker's __fput of each file on the list. */
export function delayed_fput(f: file): void {
  k.fn.__fput(f);
}

/** ____fput(work): the task-work callback. */
export function ____fput(f: file): void {
  k.fn.__fput(f);
}

/** __fput(f): the final release (->release: none here), then file_free. */
export function __fput(f: file): void {
  kasan_check_write(f, '__fput');
  k.fn.file_free(f);
}

/** file_free(f) (6.6): call_rcu(&f->f_rcuhead, file_free_rcu). Outside a task: at once. */
export function file_free(f: file): void {
  if (!inTask()) {
    kmem_cache_free(filp_cachep, f, 'file_free');
    return;
  }
  const m = sim_kasan_meta(f);
  if (m !== undefined) m.rcuQueued = { task: sim_task_label(current()), site: 'file_free', step: currentExecution().step };
  call_rcu(f, (x) => kmem_cache_free(filp_cachep, x, 'file_free_rcu'));
}

/**
 * task_work_run() (kernel/task_work.c): the running task's queued work (____fput), on its way back
 * to user space or at exit_task_work. Not a scheduling point (each work item is atomic here).
 */
export function task_work_run(): void {
  if (!inTask()) return;
  const th = k.threads.get(current().id);
  const works = th?.task_works;
  if (works === undefined || works.length === 0) return;
  th!.task_works = [];
  for (const f of works) k.fn.____fput(f);
}

/** The running task's process (its descriptor table's owner), or undefined. */
function sim_current_process(): sim_process | undefined {
  if (!inTask()) return undefined;
  const th = k.threads.get(current().id);
  return th ? k.procs.get(th.pid) : undefined;
}

/**
 * fget(fd) (fs/file.c): the file open under that descriptor in the current process, with a
 * reference (the table is shared by the process's threads, so fdget takes one), or null. A
 * process with no table (a test's hand-built process) sees the scenario's files.
 */
export function fget(name: string): file | null {
  const p = sim_current_process();
  const f = p?.files !== undefined ? p.files.get(name) ?? null : k.files.get(name) ?? null;
  return f === null ? null : k.fn.get_file(f);
}

/**
 * close_fd(fd) (fs/file.c; file_close_fd + filp_close in 6.8+): take the file out of the current
 * process's table (pick_file, under files->file_lock) and drop the table's reference
 * (filp_close → fput). -EBADF when nothing is open under it. A mapping of the file keeps its own
 * reference and keeps working.
 */
export function close_fd(name: string): number {
  const p = sim_current_process();
  const f = p?.files?.get(name);
  if (p === undefined || f === undefined) return -EBADF;
  p.files!.delete(name);
  k.fn.filp_close(f);
  return 0;
}

/** filp_close(filp): ->flush (none here), then fput. */
export function filp_close(f: file): void {
  k.fn.fput(f);
}

/** dup_fd(oldf) at fork (copy_files without CLONE_FILES): the child's table, a reference per open file. */
export function dup_fd(parent: sim_process): Map<string, file> | undefined {
  if (parent.files === undefined) return undefined;
  const m = new Map<string, file>();
  for (const [name, f] of parent.files) m.set(name, k.fn.get_file(f));
  return m;
}

/**
 * exit_files(tsk) → put_files_struct → close_files: the process's table is closed by the last of
 * its threads to exit (the table is shared: CLONE_FILES).
 */
export function exit_files(p: sim_process): void {
  const files = p.files;
  if (files === undefined) return;
  p.files = new Map();
  for (const f of files.values()) k.fn.filp_close(f);
}

/** close(2) of one of the process's descriptors: ok or -EBADF. */
export function* sim_sys_close(op: CloseOp): Task<ModelResult> {
  yield 'close_fd:file_lock';
  const r = k.fn.close_fd(op.file);
  return r < 0 ? { kind: 'errno', errno: r } : { kind: 'ok' };
}
