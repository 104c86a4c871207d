/*
 * The runtime of a faultline C reproducer (properties/repro/runtime.c; `faultline repro` puts the
 * counterexample's tables in place of the TABLES marker below). It replays the counterexample's
 * user-visible operations on the running kernel: one pthread per simulated thread, processes
 * forked where the counterexample forks, the userfaultfd monitor as a thread, ordered by the
 * counterexample's history (an operation waits for the ones that returned before it was invoked
 * there, and for the start of the ones it overlapped) and widened the way reproducers widen races:
 * many iterations, a random spin before each racing operation, and a userfaultfd that stalls a
 * syscall at its user-memory access. Each iteration it judges:
 *   hang   - an operation still blocked when nothing else progresses, which the model says
 *            cannot block forever (e.g. a fault asleep on a range that is no longer registered);
 *   value  - a load's value or signal, or a page's final value, that no interleaving allowed by
 *            the model gives;
 *   proc   - (when the counterexample is about a /proc read) lines of the scenario's address
 *            window that the model never shows;
 *   taint  - the kernel's taint flags gained W (warning), D (oops), B (bad page) or L (soft lockup).
 * Exit status: 1 reproduced, 0 not reproduced within the bound, 2 could not run.
 *
 * usage: ./r [ITERATIONS] [TIMEOUT_MS]   (TIMEOUT_MS: how long no progress counts as a hang)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#ifndef SWAP_FLAG_PREFER
#define SWAP_FLAG_PREFER 0x8000
#endif
#ifndef KVM_CREATE_VM
#define KVM_CREATE_VM _IO(0xAE, 0x01)
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFDIO_MOVE
/* UFFDIO_MOVE (Linux 6.8): older headers lack it. */
struct uffdio_move { uint64_t dst, src, len, mode; int64_t move; };
#define UFFDIO_MOVE _IOWR(UFFDIO, 0x05, struct uffdio_move)
#endif

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() __asm__ __volatile__("" ::: "memory")
#endif

#define PAGE 4096UL
#define MAXP 8          /* processes */
#define MAXT 16         /* threads per process */
#define MAXX 64         /* address translations */
#define MAXU 64         /* unregistered ranges */
#define MAXVM 16        /* KVM VMs per process */
#define PMD_BYTES (512 * PAGE)
#define RESULT_TEXT 96
#define MAPS_TEXT 8192

enum { OP_MMAP = 1, OP_MUNMAP, OP_MPROTECT, OP_MREMAP, OP_MADVISE, OP_MBIND, OP_GET_MEMPOLICY, OP_FORK, OP_EXIT,
       OP_LOAD, OP_STORE, OP_PREAD, OP_PWRITE, OP_PROC_MEM_WRITE, OP_READ_MAPS, OP_READ_SMAPS, OP_UFFD_REGISTER,
       OP_UFFD_UNREGISTER, OP_UFFDIO_COPY, OP_UFFDIO_MOVE, OP_UFFD_READ_EVENT, OP_DIO_READ, OP_DIO_WRITE, OP_DEV_IOCTL,
       OP_COLLAPSE, OP_CLOSE };
enum { KS_SWAP_OUT = 1, KS_EVICT, KS_CACHE };
enum { CHECK_HANG = 1, CHECK_VALUE = 2, CHECK_PROC = 4, CHECK_TAINT = 8 };

struct op {
	int kind, pid, thread;          /* simulated pid, thread index (-1: setup) */
	uint64_t addr, len, new_len, new_addr, src, dst;
	long value;
	int target, prot, flags, file, mremap_flags, advice, uffd_mode, policy, page;
	uint64_t offset, nodemask;
	const char *text;               /* the operation as the counterexample prints it */
	uint64_t model_addr;            /* mmap/mremap: the address the counterexample's run got */
	int model_child;                /* fork: the child's simulated pid */
	int skip;                       /* not run: it failed with -ESRCH in the counterexample */
	int racy, stall;                /* overlaps another thread's operation; buffer on a stalled page */
	int nwait_done; const int *wait_done;   /* must have returned first (history order) */
	int nwait_start; const int *wait_start; /* must have started first */
	int judge, may_block;
	int nallowed; const char *const *allowed;
	int nmaps; const char *const *maps;
};
struct thread { const char *name; int pid; int first, n; };
struct proc { int pid, initial, setup_first, setup_n, monitor, monitor_contract; long monitor_value; };
struct file { const char *name; int npages; const long *pages; int device; };
struct ksetup { int kind, pid, file, page; uint64_t addr; };
struct fpage { int pid; uint64_t addr; int n; const char *const *allowed; };
struct range { uint64_t start, end; };
struct collapse { int pid; uint64_t addr; };  /* khugepaged: MADV_COLLAPSE of [addr, addr + 2M) in pid */
struct rtarget { int pid; uint64_t addr; };   /* reclaim (kswapd): a page it may pick */
void child_main(int pid);
static char *page_buffer(void);
static int proc_index(int pid);
void *p1_body(void *arg);

/*@TABLES@*/

/* ---------------------------------------------------------------------------------------------- */
/* Shared state: results of every operation, visible across the forked processes. */

struct result {
	volatile int state;             /* 0 not started, 1 started, 2 returned, 3 not run, 4 returned after the release */
	char text[RESULT_TEXT];         /* describeResult */
};
struct fresult { volatile int state; char text[RESULT_TEXT]; };
struct ctl {
	volatile int go, stop, release, finals, stall_quit, setup_turn, setup_failed;
	volatile int started[MAXP], ready[MAXP], done[MAXP], finals_done[MAXP];
	volatile int realpid[MAXP + 4];
	/* each process's address translations (X()), for the kernel-daemon helper process */
	struct { uint64_t model, real, len; } xl[MAXP][MAXX];
	volatile int nxl[MAXP];
	volatile int daemons_quit;      /* the programs are done (or hung): the daemon helper stops */
	volatile int swap_on;           /* the reproducer's own swap file is swapped on */
	volatile int swapoffs, pageouts, reclaimed;
	volatile int noted_kvm, noted_swapout;
	volatile long progress;         /* bumped on every operation start and return */
	char setup_error[256];
	struct result res[NOPS > 0 ? NOPS : 1];
	struct fresult fres[NFINAL > 0 ? NFINAL : 1];
	char maps[NMAPSOPS > 0 ? NMAPSOPS : 1][MAPS_TEXT];
};
static struct ctl *ctl;

static unsigned iterations = DEFAULT_ITERATIONS, timeout_ms = DEFAULT_TIMEOUT_MS;
static char dir[64];
static int file_fd[NFILES > 0 ? NFILES : 1];
static int file_dfd[NFILES > 0 ? NFILES : 1];   /* O_DIRECT descriptors (-1: the filesystem refused O_DIRECT) */
static int odirect_noted;
static int features_fork = 1;
static int stall_ok;

/* Per process (each forked process has its own copy). */
static int my_pid;                      /* simulated pid of this process */
static pid_t main_pid;                  /* the reproducer's first process: the others end when it is gone */
static void orphan_check(void) { if (kill(main_pid, 0) != 0 && errno == ESRCH) _exit(0); }
static int uffd = -1;
static struct { uint64_t model, real, len; } xl[MAXX];
static int nxl;
static struct range unreg[MAXU];
static int nunreg;
static pthread_mutex_t unreg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t tids[MAXT + 2];
static int ntids;
static int vm_fd[MAXVM];                /* KVM_CREATE_VM's VMs, closed at the iteration's end */
static int nvm;
static pthread_mutex_t vm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t collapse_tid;
static int collapse_running;
static volatile int users_done;

static __thread unsigned long rng;
static unsigned long rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

static void die2(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	printf("verdict: could not run - ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	exit(2);
}

/* Model address -> this process's address (non-fixed mmap/mremap results differ). */
static uint64_t X(uint64_t a) {
	for (int i = 0; i < nxl; i++)
		if (a >= xl[i].model && a < xl[i].model + xl[i].len) return xl[i].real + (a - xl[i].model);
	return a;
}
/* This process's address -> model address (for /proc lines). */
static uint64_t unX(uint64_t a) {
	for (int i = 0; i < nxl; i++)
		if (a >= xl[i].real && a <= xl[i].real + xl[i].len) return xl[i].model + (a - xl[i].real);
	return a;
}
static void xlate_publish(void) {
	int pi = proc_index(my_pid);
	for (int i = 0; i < nxl; i++) { ctl->xl[pi][i].model = xl[i].model; ctl->xl[pi][i].real = xl[i].real; ctl->xl[pi][i].len = xl[i].len; }
	__sync_synchronize();
	ctl->nxl[pi] = nxl;
}
static void xlate_add(uint64_t model, uint64_t real, uint64_t len) {
	if (model == real || nxl >= MAXX) return;
	xl[nxl].model = model; xl[nxl].real = real; xl[nxl].len = len; nxl++;
	xlate_publish();
}
/* Model address -> the address in process pi (from the published translations). */
static uint64_t Xp(int pi, uint64_t a) {
	int n = ctl->nxl[pi];
	for (int i = 0; i < n && i < MAXX; i++)
		if (a >= ctl->xl[pi][i].model && a < ctl->xl[pi][i].model + ctl->xl[pi][i].len) return ctl->xl[pi][i].real + (a - ctl->xl[pi][i].model);
	return a;
}

/* ---------------------------------------------------------------------------------------------- */
/* Guarded user accesses: SIGSEGV / SIGBUS become results. */

static __thread sigjmp_buf guard_jb;
static __thread volatile int guarded;
static void on_fault(int sig, siginfo_t *si, void *uc) {
	(void)si; (void)uc;
	if (guarded) { guarded = 0; siglongjmp(guard_jb, sig); }
	signal(sig, SIG_DFL);
	raise(sig);
}
/* started: the operation's start flag, raised right before the access (-1: none). */
static int access_page(uint64_t a, int write, long v, long *out, int started) {
	int sig = sigsetjmp(guard_jb, 1);
	if (sig) return sig;
	guarded = 1;
	if (started >= 0) { ctl->res[started].state = 1; ctl->progress++; }
	if (write) *(volatile long *)a = v;
	else *out = *(volatile long *)a;
	guarded = 0;
	return 0;
}
static const char *signame(int s) { return s == SIGSEGV ? "SIGSEGV" : s == SIGBUS ? "SIGBUS" : "signal"; }

static const char *errname(int e) {
	switch (e) {
	case EPERM: return "-EPERM"; case ENOENT: return "-ENOENT"; case ESRCH: return "-ESRCH"; case EIO: return "-EIO";
	case EBADF: return "-EBADF"; case EAGAIN: return "-EAGAIN"; case ENOMEM: return "-ENOMEM"; case EACCES: return "-EACCES";
	case EFAULT: return "-EFAULT"; case EBUSY: return "-EBUSY"; case EEXIST: return "-EEXIST"; case EINVAL: return "-EINVAL";
	default: { static __thread char b[16]; snprintf(b, sizeof b, "-%d", e); return b; }
	}
}

/* ---------------------------------------------------------------------------------------------- */
/* userfaultfd */

static int uffd_open(int user_mode_only) {
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | (user_mode_only ? UFFD_USER_MODE_ONLY : 0));
	if (fd < 0 && !user_mode_only) fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	return fd;
}
static int uffd_api(int fd, uint64_t features) {
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	return ioctl(fd, UFFDIO_API, &api);
}
/* The process's userfaultfd, opened at its first UFFDIO_REGISTER with the non-cooperative events. */
static int uffd_get(void) {
	if (uffd >= 0) return uffd;
	int fd = uffd_open(0);
	if (fd < 0) return -1;
	uint64_t f = UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP;
	if (features_fork && uffd_api(fd, f | UFFD_FEATURE_EVENT_FORK) == 0) { uffd = fd; return fd; }
	close(fd);
	fd = uffd_open(0);
	if (fd < 0) return -1;
	if (uffd_api(fd, f) != 0) { close(fd); return -1; }
	features_fork = 0;
	uffd = fd;
	return fd;
}
static int unregistered(uint64_t a) {
	int r = 0;
	pthread_mutex_lock(&unreg_lock);
	for (int i = 0; i < nunreg; i++) if (a >= unreg[i].start && a < unreg[i].end) r = 1;
	pthread_mutex_unlock(&unreg_lock);
	return r;
}
static void uffd_wake(uint64_t start, uint64_t len) {
	struct uffdio_range r = { .start = start, .len = len };
	if (uffd >= 0) ioctl(uffd, UFFDIO_WAKE, &r);
}

/* The stall helper: user buffers of racing syscalls on pages of a second userfaultfd, resolved after
 * a random spin, so the syscall sits at its copy_{from,to}_user while the other threads run. */
static int stall_fd = -1;
static char *stall_area;
#define STALL_PAGES 64
static volatile int stall_next;
static void *stall_thread(void *arg) {
	(void)arg;
	rng = 0x9e3779b97f4a7c15UL ^ (unsigned long)getpid();
	char *src = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	while (!ctl->stall_quit) {
		struct pollfd p = { .fd = stall_fd, .events = POLLIN };
		if (poll(&p, 1, 1) <= 0) continue;
		struct uffd_msg m;
		if (read(stall_fd, &m, sizeof m) != sizeof m || m.event != UFFD_EVENT_PAGEFAULT) continue;
		unsigned long spin = rnd() % (1UL << (rnd() % 16));
		for (volatile unsigned long k = 0; k < spin; k++);
		memset(src, 0, PAGE);
		struct uffdio_copy c = { .dst = m.arg.pagefault.address & ~(PAGE - 1), .src = (uint64_t)src, .len = PAGE };
		ioctl(stall_fd, UFFDIO_COPY, &c);
		ctl->progress++;
	}
	munmap(src, PAGE);
	return NULL;
}
static void stall_setup(void) {
	stall_fd = uffd_open(0);
	stall_ok = 0;
	if (stall_fd < 0) return;
	struct uffdio_api api = { .api = UFFD_API };
	if (ioctl(stall_fd, UFFDIO_API, &api)) { close(stall_fd); stall_fd = -1; return; }
	/* Kernel-mode faults are trapped only without UFFD_USER_MODE_ONLY: probe with a read(2). */
	stall_area = mmap(NULL, STALL_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	stall_ok = 1;
}
/* A fresh stalled buffer page (missing, registered), or NULL. */
static char *stall_page(void) {
	if (!stall_ok) return NULL;
	int i = __sync_fetch_and_add(&stall_next, 1) % STALL_PAGES;
	char *p = stall_area + i * PAGE;
	madvise(p, PAGE, MADV_DONTNEED);
	struct uffdio_register r = { .range = { .start = (uint64_t)p, .len = PAGE }, .mode = UFFDIO_REGISTER_MODE_MISSING };
	if (ioctl(stall_fd, UFFDIO_REGISTER, &r)) return NULL;
	return p;
}
static void stall_done(char *p) {
	if (!p) return;
	struct uffdio_range r = { .start = (uint64_t)p, .len = PAGE };
	ioctl(stall_fd, UFFDIO_UNREGISTER, &r);
}

/* ---------------------------------------------------------------------------------------------- */
/* Operations */

static void set_result(int i, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctl->res[i].text, RESULT_TEXT, fmt, ap);
	va_end(ap);
}
static int mprot(int p) { return (p & 1 ? PROT_READ : 0) | (p & 2 ? PROT_WRITE : 0) | (p & 4 ? PROT_EXEC : 0); }

/* /proc/<pid>/maps lines inside the scenario's window, in model addresses: "start-end perms offset name". */
static void window_lines(const char *buf, char *out, size_t outsz) {
	size_t o = 0;
	out[0] = 0;
	const char *l = buf;
	while (*l) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		unsigned long s, e, off; char perms[8]; char name[512] = "";
		char line[600];
		if (n < sizeof line) {
			memcpy(line, l, n); line[n] = 0;
			int k = 0;
			if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &s, &e, perms, &off, &k) >= 4) {
				if (k > 0) { strncpy(name, line + k, sizeof name - 1); }
				uint64_t ms = unX(s), me = unX(e);
				int in = 0;
				for (int w = 0; w < NWINDOW; w++) if (ms < window[w].end && window[w].start < me) in = 1;
				if (in) {
					const char *base = strrchr(name, '/');
					base = base ? base + 1 : name;
					/* A mapping of a scenario file: its name is the file's. */
					char nm[512];
					snprintf(nm, sizeof nm, "%s", base);
					o += snprintf(out + o, o < outsz ? outsz - o : 0, "%s%lx-%lx %s %08lx%s%s", o ? "\n" : "", (unsigned long)ms, (unsigned long)me, perms, off, nm[0] ? " " : "", nm);
				}
			}
		}
		if (!nl) break;
		l = nl + 1;
	}
}
/* Only the size-bearing lines (the header of each entry) of smaps are maps lines. */
static void read_proc(int i, const struct op *op, const char *what) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", ctl->realpid[op->target], what);
	int fd = open(path, O_RDONLY);
	if (fd < 0) { set_result(i, "%s", errname(errno)); return; }
	static __thread char buf[1 << 16];
	size_t n = 0;
	for (int chunk = 0;; chunk++) {
		/* the first records are the scenario's (lowest addresses): stall those reads */
		char *sp = op->stall && chunk < 8 ? stall_page() : NULL;
		ssize_t r = read(fd, sp ? sp : buf + n, sp ? 256 : (sizeof buf - 1 - n < 256 ? sizeof buf - 1 - n : 256));
		if (r > 0 && sp) memcpy(buf + n, sp, r);
		stall_done(sp);
		if (r <= 0 || n + r >= sizeof buf - 1) { if (r > 0) n += r; break; }
		n += r;
	}
	buf[n] = 0;
	close(fd);
	if (!strcmp(what, "smaps")) {
		/* keep the header lines (address ranges) only */
		char *w = buf;
		for (char *l = buf; *l;) {
			char *nl = strchr(l, '\n');
			size_t len = nl ? (size_t)(nl - l + 1) : strlen(l);
			unsigned long a, b;
			if (sscanf(l, "%lx-%lx ", &a, &b) == 2) { memmove(w, l, len); w += len; }
			l += len;
		}
		*w = 0;
	}
	int m = maps_slot[i];
	if (m >= 0) window_lines(buf, ctl->maps[m], MAPS_TEXT);
	set_result(i, "read");
}

static void run_op(int i) {
	const struct op *op = &ops[i];
	long v = 0;
	int sig;
	switch (op->kind) {
	case OP_LOAD:
		sig = access_page(X(op->addr) & ~(PAGE - 1), 0, 0, &v, op->thread >= 0 ? i : -1);
		if (sig) set_result(i, "%s", signame(sig)); else set_result(i, "%ld", v);
		break;
	case OP_STORE:
		sig = access_page(X(op->addr) & ~(PAGE - 1), 1, op->value, &v, op->thread >= 0 ? i : -1);
		if (sig) set_result(i, "%s", signame(sig)); else set_result(i, "ok");
		break;
	case OP_MMAP: {
		int fl = (op->flags & 1 ? MAP_SHARED : MAP_PRIVATE) | (op->flags & 2 ? MAP_ANONYMOUS : 0) | (op->flags & 4 ? MAP_FIXED : 0) |
			 (op->flags & 8 ? MAP_GROWSDOWN : 0) | (op->flags & 16 ? MAP_FIXED_NOREPLACE : 0);
		int fd = op->file >= 0 ? file_fd[op->file] : -1;
		void *r = mmap((void *)(op->flags & 4 ? X(op->addr) : op->addr), op->len, mprot(op->prot), fl, fd, op->offset);
		if (r == MAP_FAILED) { set_result(i, "%s", errname(errno)); break; }
		if (!(op->flags & (4 | 16)) && op->model_addr) xlate_add(op->model_addr, (uint64_t)r, op->len);
		set_result(i, "0x%lx", (unsigned long)unX((uint64_t)r));
		break;
	}
	case OP_MUNMAP: set_result(i, "%s", munmap((void *)X(op->addr), op->len) ? errname(errno) : "ok"); break;
	case OP_MPROTECT: set_result(i, "%s", mprotect((void *)X(op->addr), op->len, mprot(op->prot)) ? errname(errno) : "ok"); break;
	case OP_MREMAP: {
		int fl = (op->mremap_flags & 1 ? MREMAP_MAYMOVE : 0) | (op->mremap_flags & 2 ? MREMAP_FIXED : 0) | (op->mremap_flags & 4 ? MREMAP_DONTUNMAP : 0);
		void *r = mremap((void *)X(op->addr), op->len, op->new_len, fl, (void *)X(op->new_addr));
		if (r == MAP_FAILED) { set_result(i, "%s", errname(errno)); break; }
		if (!(op->mremap_flags & 2) && op->model_addr) xlate_add(op->model_addr, (uint64_t)r, op->new_len);
		set_result(i, "0x%lx", (unsigned long)unX((uint64_t)r));
		break;
	}
	case OP_MADVISE: set_result(i, "%s", madvise((void *)X(op->addr), op->len, op->advice) ? errname(errno) : "ok"); break;
	case OP_MBIND: {
		unsigned long mask = op->nodemask;
		long r = syscall(SYS_mbind, X(op->addr), op->len, op->policy, mask ? &mask : NULL, mask ? 64 : 0, 0);
		set_result(i, "%s", r ? errname(errno) : "ok");
		break;
	}
	case OP_GET_MEMPOLICY: {
		int mode = 0; unsigned long mask = 0;
		long r = syscall(SYS_get_mempolicy, &mode, &mask, 64, X(op->addr), 2 /* MPOL_F_ADDR */);
		if (r) set_result(i, "%s", errname(errno)); else set_result(i, "mode %d nodes 0x%lx", mode, mask);
		break;
	}
	case OP_FORK: {
		pid_t c = fork();
		if (c < 0) { set_result(i, "%s", errname(errno)); break; }
		if (c == 0) { child_main(op->model_child); _exit(0); }
		set_result(i, "P%d", op->model_child);
		break;
	}
	case OP_EXIT:
		if (my_pid != 1) {
			int pi = proc_index(my_pid);
			set_result(i, "ok");
			ctl->res[i].state = 2;
			ctl->done[pi] = ctl->finals_done[pi] = 1;
			ctl->progress++;
			_exit(0);
		}
		set_result(i, "not run (the reproducer's own process)");
		break;
	case OP_CLOSE: {
		/* the process's descriptor of the file (and its O_DIRECT twin): later calls on it get EBADF */
		int r = close(file_fd[op->file]);
		if (r == 0) {
			file_fd[op->file] = -1;
			if (file_dfd[op->file] >= 0) { close(file_dfd[op->file]); file_dfd[op->file] = -1; }
		}
		set_result(i, "%s", r < 0 ? errname(errno) : "ok");
		break;
	}
	case OP_PREAD: {
		long w = 0;
		ssize_t r = pread(file_fd[op->file], &w, sizeof w, (off_t)op->page * PAGE);
		if (r < 0) set_result(i, "%s", errname(errno)); else set_result(i, "%ld", r == 0 ? 0 : w);
		break;
	}
	case OP_PWRITE: {
		char *sp = op->stall ? stall_page() : NULL;
		static __thread long w;
		w = op->value;
		ssize_t r;
		if (sp) {
			/* the source buffer is faulted in (and the write stalled) by the stall helper: write its contents after */
			r = pwrite(file_fd[op->file], sp, sizeof w, (off_t)op->page * PAGE);
			stall_done(sp);
			if (r >= 0) r = pwrite(file_fd[op->file], &w, sizeof w, (off_t)op->page * PAGE);
		} else {
			r = pwrite(file_fd[op->file], &w, sizeof w, (off_t)op->page * PAGE);
		}
		set_result(i, "%s", r < 0 ? errname(errno) : "ok");
		break;
	}
	case OP_PROC_MEM_WRITE: {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/mem", ctl->realpid[op->target]);
		int fd = open(path, O_RDWR);
		if (fd < 0) { set_result(i, "%s", errname(errno)); break; }
		long w = op->value;
		ssize_t r = pwrite(fd, &w, sizeof w, (off_t)(X(op->addr) & ~(PAGE - 1)));
		set_result(i, "%s", r < 0 ? errname(errno) : "ok");
		close(fd);
		break;
	}
	case OP_READ_MAPS: read_proc(i, op, "maps"); break;
	case OP_READ_SMAPS: read_proc(i, op, "smaps"); break;
	case OP_UFFD_REGISTER: {
		int fd = uffd_get();
		if (fd < 0) { set_result(i, "-EPERM (no userfaultfd)"); break; }
		struct uffdio_register r = { .range = { .start = X(op->addr), .len = op->len },
					     .mode = op->uffd_mode ? UFFDIO_REGISTER_MODE_WP : UFFDIO_REGISTER_MODE_MISSING };
		if (ioctl(fd, UFFDIO_REGISTER, &r)) { set_result(i, "%s", errname(errno)); break; }
		pthread_mutex_lock(&unreg_lock);
		for (int k = 0; k < nunreg; k++)
			if (unreg[k].start < r.range.start + r.range.len && r.range.start < unreg[k].end) unreg[k] = unreg[--nunreg], k--;
		pthread_mutex_unlock(&unreg_lock);
		set_result(i, "ok");
		break;
	}
	case OP_UFFD_UNREGISTER: {
		if (uffd < 0) { set_result(i, "-EBADF"); break; }
		struct uffdio_range r = { .start = X(op->addr), .len = op->len };
		if (ioctl(uffd, UFFDIO_UNREGISTER, &r)) { set_result(i, "%s", errname(errno)); break; }
		pthread_mutex_lock(&unreg_lock);
		if (nunreg < MAXU) { unreg[nunreg].start = r.start; unreg[nunreg].end = r.start + r.len; nunreg++; }
		pthread_mutex_unlock(&unreg_lock);
		set_result(i, "ok");
		break;
	}
	case OP_UFFDIO_COPY: {
		if (uffd < 0) { set_result(i, "-EBADF"); break; }
		char *sp = op->stall ? stall_page() : NULL;
		static __thread char *src;
		if (!src) src = page_buffer();
		if (!src) { set_result(i, "-ENOMEM"); break; }
		memset(src, 0, PAGE);
		*(long *)src = op->value;
		if (sp) { volatile char c = *sp; (void)c; memcpy(sp, src, PAGE); }
		struct uffdio_copy c = { .dst = X(op->dst), .src = (uint64_t)(sp ? sp : src), .len = PAGE };
		int r = ioctl(uffd, UFFDIO_COPY, &c);
		stall_done(sp);
		set_result(i, "%s", r ? errname(errno) : "ok");
		break;
	}
	case OP_UFFDIO_MOVE: {
		if (uffd < 0) { set_result(i, "-EBADF"); break; }
		struct uffdio_move m = { .dst = X(op->dst), .src = X(op->src), .len = PAGE };
		set_result(i, "%s", ioctl(uffd, UFFDIO_MOVE, &m) ? errname(errno) : "ok");
		break;
	}
	case OP_UFFD_READ_EVENT: {
		if (uffd < 0) { set_result(i, "-EBADF"); break; }
		struct uffd_msg m;
		ssize_t r = read(uffd, &m, sizeof m);
		if (r != sizeof m) set_result(i, "%s", errname(r < 0 ? errno : EAGAIN));
		else set_result(i, "event %d", m.event);
		break;
	}
	case OP_DIO_READ: case OP_DIO_WRITE: {
		/* read(2)/write(2) of one file page through O_DIRECT: the kernel pins the user page across the I/O */
		int fd = file_dfd[op->file] >= 0 ? file_dfd[op->file] : file_fd[op->file];
		void *buf = (void *)(X(op->addr) & ~(PAGE - 1));
		ssize_t r = op->kind == OP_DIO_READ ? pread(fd, buf, PAGE, (off_t)op->page * PAGE) : pwrite(fd, buf, PAGE, (off_t)op->page * PAGE);
		if (r < 0) set_result(i, "%s", errname(errno)); else set_result(i, "%ld", (long)r);
		break;
	}
	case OP_DEV_IOCTL: {
		/* KVM_CREATE_VM: a VM bound to this mm registers its MMU notifier (mm_take_all_locks) */
		int kfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (kfd < 0) {
			if (!__sync_fetch_and_add(&ctl->noted_kvm, 1))
				printf("skip: /dev/kvm: %s: %s is not run (no VM, so no MMU notifier registration: mm_take_all_locks is not exercised)\n", strerror(errno), op->text);
			set_result(i, "not run (no /dev/kvm)");
			break;
		}
		int vm = ioctl(kfd, KVM_CREATE_VM, 0);
		int e = errno;
		close(kfd);
		if (vm < 0) { set_result(i, "%s", errname(e)); break; }
		pthread_mutex_lock(&vm_lock);
		if (nvm < MAXVM) vm_fd[nvm++] = vm; else close(vm);
		pthread_mutex_unlock(&vm_lock);
		set_result(i, "ok");
		break;
	}
	case OP_COLLAPSE:
		/* khugepaged's collapse (simulated daemon), as MADV_COLLAPSE: madvise_collapse ->
		 * hpage_collapse_scan_pmd -> collapse_huge_page (see collapse_main) */
		set_result(i, "%s", madvise((void *)X(op->addr), PMD_BYTES, MADV_COLLAPSE) ? errname(errno) : "ok");
		break;
	default:
		set_result(i, "not run");
	}
}

/* Simulated daemon: khugepaged. Rendered as MADV_COLLAPSE (Linux 6.1+, the documented synchronous
 * equivalent) of this process's PMD-aligned ranges of the scenario, over and over with random
 * spins, until the process's user threads are done. Kernel path: madvise_collapse ->
 * hpage_collapse_scan_pmd -> collapse_huge_page for anonymous memory (khugepaged_scan_mm_slot
 * takes the same one), hpage_collapse_scan_file -> collapse_file -> retract_page_tables for
 * file/shmem. What differs from khugepaged (mm/khugepaged.c):
 *  - it runs in a thread of the process, under that process's mmap_read_lock taken by madvise(2);
 *    khugepaged is a kernel thread outside every mm and only mmap_read_trylock()s (it skips a
 *    contended mm);
 *  - cc->is_khugepaged is false: max_ptes_none/max_ptes_swap/max_ptes_shared are not enforced, and
 *    the THP sysfs "enabled" setting is not (khugepaged scans only VMAs it allows: TVA_ENFORCE_SYSFS);
 *  - a file/shmem collapse then maps the THP by PMD in the caller's mm at once
 *    (collapse_pte_mapped_thp(mm, addr, true); khugepaged passes false);
 *  - the page tables of the other mms mapping the range: since v6.6 (retract_page_tables() without
 *    mmap or vma lock) collapse_file retracts them for MADV_COLLAPSE as for khugepaged; before,
 *    MADV_COLLAPSE's retract_page_tables(mapping, start, mm, addr, hpage, cc) treated the caller's
 *    mm apart from the others.
 * Not progress: a hang stays a hang while this thread runs. */
static void *collapse_main(void *arg) {
	(void)arg;
	rng = (unsigned long)now_ms() * 0x9e3779b97f4a7c15UL ^ (unsigned long)getpid() ^ 0x5bd1e995UL;
	while (!ctl->go && !ctl->stop) sched_yield();
	while (!users_done && !ctl->stop && !ctl->release) {
		for (int c = 0; c < NCOLLAPSE && !users_done; c++) {
			if (collapse[c].pid != my_pid) continue;
			unsigned long s = rnd() % (1UL << (rnd() % 16));
			for (volatile unsigned long k = 0; k < s; k++);
			madvise((void *)X(collapse[c].addr), PMD_BYTES, MADV_COLLAPSE);
		}
		usleep(50);
	}
	return NULL;
}
static void vms_close(void) {
	pthread_mutex_lock(&vm_lock);
	while (nvm) close(vm_fd[--nvm]);
	pthread_mutex_unlock(&vm_lock);
}

/* ---------------------------------------------------------------------------------------------- */
/* Simulated daemons reclaim (kswapd) and swapoff, through the user-space triggers of their kernel
 * paths, from a helper process forked before any setup (outside every scenario mm, as the
 * kernel's daemons are), racing the programs until they are done:
 *   reclaim - process_madvise(2) of one target page at a time (picked at random, as the
 *             simulation's scheduler picks one per round), MADV_COLD then MADV_PAGEOUT:
 *             madvise_cold_or_pageout_pte_range -> reclaim_pages -> shrink_folio_list ->
 *             try_to_unmap, add_to_swap / pageout, the reclaim kswapd runs on its LRU pages.
 *             Unlike kswapd, MADV_PAGEOUT leaves a page mapped by more than one process alone.
 *   swapoff - swapoff(2) of the reproducer's own swap file, then swapon(2) of it again:
 *             try_to_unuse -> unuse_mm -> unuse_pte_range (every swapped page of every mm is read
 *             back in and mapped). Only with a swap file of its own (root).
 * Anonymous pages go to swap only where there is swap: as root the reproducer creates its own
 * swap file (SWAP_PAGES slots, the scenario's swapSlots), swapped on at the highest priority and
 * swapped off and removed at exit (and by the next run, if this one is killed). */
static char swap_path[160];
static pid_t swap_owner, daemons_pid;
static int swap_ok;

static void *reclaim_main(void *arg) {
	(void)arg;
	rng = (unsigned long)now_ms() * 0x9e3779b97f4a7c15UL ^ (unsigned long)getpid() ^ 0x2545f491UL;
	while (NRECLAIM > 0 && !ctl->daemons_quit && !ctl->stop) {
		const struct rtarget *t = &reclaim_targets[rnd() % (NRECLAIM > 0 ? NRECLAIM : 1)];
		int pid = ctl->realpid[t->pid];
		if (pid <= 0) { usleep(50); continue; }
		int pfd = syscall(SYS_pidfd_open, pid, 0);
		if (pfd < 0) { usleep(50); continue; }
		struct iovec iov = { .iov_base = (void *)(Xp(proc_index(t->pid), t->addr) & ~(PAGE - 1)), .iov_len = PAGE };
		unsigned long sp = rnd() % (1UL << (rnd() % 14));
		for (volatile unsigned long k = 0; k < sp; k++);
		long r = syscall(SYS_process_madvise, pfd, &iov, 1, MADV_COLD, 0);
		if (r >= 0) r = syscall(SYS_process_madvise, pfd, &iov, 1, MADV_PAGEOUT, 0);
		int e = errno;
		close(pfd);
		if (r >= 0) {
			ctl->pageouts++;
			/* did it leave the page's PTE not present (swapped out, or a file page unmapped)? */
			char pm[64];
			snprintf(pm, sizeof pm, "/proc/%d/pagemap", pid);
			int fd = open(pm, O_RDONLY | O_CLOEXEC);
			uint64_t ent = 0;
			if (fd >= 0 && pread(fd, &ent, sizeof ent, (off_t)((uint64_t)iov.iov_base / PAGE) * sizeof ent) == (ssize_t)sizeof ent && !(ent >> 63 & 1))
				ctl->reclaimed++;
			if (fd >= 0) close(fd);
		}
		else if (e == EPERM || e == ENOSYS) {
			printf("skip: reclaim: process_madvise(MADV_PAGEOUT) on another process: %s (it needs CAP_SYS_NICE and Linux 5.10+): the reclaim daemon is not run\n", strerror(e));
			break;
		}
		usleep(20);
	}
	return NULL;
}

static void *swapoff_main(void *arg) {
	(void)arg;
	rng = (unsigned long)now_ms() * 0x9e3779b97f4a7c15UL ^ (unsigned long)getpid() ^ 0x68e31da4UL;
	while (!ctl->daemons_quit && !ctl->stop) {
		unsigned long sp = rnd() % (1UL << (rnd() % 14));
		for (volatile unsigned long k = 0; k < sp; k++);
		if (swapoff(swap_path) == 0) { ctl->swap_on = 0; ctl->swapoffs++; }
		else if (errno != ENOMEM && errno != EINTR) { printf("note: swapoff(%s): %s: the swapoff daemon stops\n", swap_path, strerror(errno)); break; }
		if (!ctl->swap_on) {
			if (swapon(swap_path, SWAP_FLAG_PREFER | 32767) != 0) { printf("note: swapon(%s) again: %s: the run goes on without swap\n", swap_path, strerror(errno)); break; }
			ctl->swap_on = 1;
		}
		usleep(100);
	}
	return NULL;
}

/* Fork the daemon helper for this iteration (0: the scenario has none to run here). */
static pid_t daemons_start(void) {
	int swapoff_here = RUN_SWAPOFF && swap_ok;
	if (NRECLAIM == 0 && !swapoff_here) return 0;
	pid_t c = fork();
	if (c != 0) return c < 0 ? 0 : c;
	if (stall_fd >= 0) { close(stall_fd); stall_fd = -1; }
	while (!ctl->go && !ctl->stop) { orphan_check(); usleep(20); }
	pthread_t a, b;
	int ha = NRECLAIM > 0 && !pthread_create(&a, NULL, reclaim_main, NULL);
	int hb = swapoff_here && !pthread_create(&b, NULL, swapoff_main, NULL);
	if (ha) pthread_join(a, NULL);
	if (hb) pthread_join(b, NULL);
	_exit(0);
}

static int machine_swaps(void) {
	FILE *f = fopen("/proc/swaps", "r");
	if (!f) return 0;
	char line[512];
	int n = -1;  /* the header */
	while (fgets(line, sizeof line, f)) n++;
	fclose(f);
	return n < 0 ? 0 : n;
}

/* Swap off and remove the reproducer's swap file (at exit, on SIGINT/SIGTERM/SIGHUP). */
static void swap_cleanup(void) {
	if (!swap_ok || getpid() != swap_owner) return;
	swap_ok = 0;
	if (daemons_pid > 0) { kill(daemons_pid, SIGKILL); waitpid(daemons_pid, NULL, 0); daemons_pid = 0; }
	if (swapoff(swap_path) != 0 && errno != EINVAL)
		printf("note: swapoff(%s) at exit: %s: swap it off by hand (swapoff %s; rm %s)\n", swap_path, strerror(errno), swap_path, swap_path);
	else
		unlink(swap_path);
}
static void swap_signal(int sig) {
	swap_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A swap file of n pages with a version-1 header (what mkswap writes), written out in full: swapon
 * refuses a file with holes. */
static int mkswapfile(const char *path, unsigned long npages) {
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) return -1;
	static char pg[PAGE];
	for (unsigned long i = 0; i < npages; i++) {
		memset(pg, 0, sizeof pg);
		if (i == 0) {
			uint32_t *info = (uint32_t *)(pg + 1024);  /* union swap_header: bootbits[1024], then info */
			info[0] = 1;                               /* version */
			info[1] = (uint32_t)(npages - 1);          /* last_page */
			memcpy(pg + PAGE - 10, "SWAPSPACE2", 10);
		}
		if (write(fd, pg, sizeof pg) != (ssize_t)sizeof pg) { close(fd); return -1; }
	}
	int r = fsync(fd);
	close(fd);
	return r;
}

/* Swap files that a killed reproducer left on (its pid is in the name and no longer runs). */
static void swap_stale_cleanup(void) {
	FILE *f = fopen("/proc/swaps", "r");
	if (!f) return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		char path[400];
		int owner;
		if (sscanf(line, "%399s", path) != 1) continue;
		char *slash = strrchr(path, '/');
		if (!strstr(path, "/faultline-repro-") || !slash || sscanf(slash, "/swap.%d", &owner) != 1) continue;
		if (kill(owner, 0) == 0 || errno != ESRCH) continue;
		if (swapoff(path) != 0) continue;
		unlink(path);
		printf("note: swapped off and removed %s, which a killed reproducer left on\n", path);
		*slash = 0;
		rmdir(path);
	}
	fclose(f);
}

static void swap_setup(void) {
	if (!NEEDS_SWAP) return;
	int machine = machine_swaps();
	if (getenv("FAULTLINE_REPRO_NO_SWAP")) {
		printf("note: FAULTLINE_REPRO_NO_SWAP: no swap file of the reproducer's own (%s)%s\n",
		       machine ? "the machine's swap is used" : "the machine has no swap: anonymous pages are not swapped out",
		       RUN_SWAPOFF ? "; skip: swapoff is not run" : "");
		return;
	}
	if (geteuid() != 0) {
		printf("note: not root: no swap file of the reproducer's own (%s)%s\n",
		       machine ? "the machine's swap is used" : "the machine has no swap: anonymous pages are not swapped out",
		       RUN_SWAPOFF ? "; skip: swapoff is not run (it needs CAP_SYS_ADMIN)" : "");
		return;
	}
	swap_stale_cleanup();
	snprintf(swap_path, sizeof swap_path, "%s/swap.%d", dir, (int)getpid());
	if (mkswapfile(swap_path, SWAP_PAGES + 1) != 0) {
		printf("note: cannot write the swap file %s: %s: %s\n", swap_path, strerror(errno), machine ? "the machine's swap is used" : "no swap");
		unlink(swap_path);
		return;
	}
	if (swapon(swap_path, SWAP_FLAG_PREFER | 32767) != 0) {
		printf("note: swapon(%s): %s: %s%s\n", swap_path, strerror(errno), machine ? "the machine's swap is used" : "no swap",
		       RUN_SWAPOFF ? "; skip: swapoff is not run" : "");
		unlink(swap_path);
		return;
	}
	swap_ok = 1;
	swap_owner = getpid();
	ctl->swap_on = 1;
	atexit(swap_cleanup);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = swap_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	printf("swap: %s, %d slot(s), swapped on at the highest priority (swapped off and removed at exit)\n", swap_path, SWAP_PAGES);
}

/* Whether this process's page at a is swapped out (/proc/self/pagemap bit 62), -1 unknown. */
static int page_swapped(uint64_t a) {
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	uint64_t e = 0;
	ssize_t r = pread(fd, &e, sizeof e, (off_t)(a / PAGE) * sizeof e);
	close(fd);
	return r == (ssize_t)sizeof e ? (int)((e >> 62) & 1) : -1;
}

/* Busy-wait (a race needs both threads on a CPU), yielding now and then. */
static int await_state(int j, int state, double deadline) {
	for (unsigned long n = 0; ctl->res[j].state < state; n++) {
		cpu_relax();
		if ((n & 0xffff) == 0xffff) {
			if (ctl->stop || now_ms() > deadline) return 0;
			sched_yield();
		}
	}
	return 1;
}
/* Wait for the operations this one is ordered after (history), then spin if it races. */
static int wait_for(const struct op *op, double deadline) {
	for (int k = 0; k < op->nwait_done; k++)
		if (!await_state(op->wait_done[k], 2, deadline)) return 0;
	for (int k = 0; k < op->nwait_start; k++)
		if (!await_state(op->wait_start[k], 1, deadline)) return 0;
	return 1;
}
static void spin(void) {
	unsigned long s = rnd() % (1UL << (rnd() % 14));
	for (volatile unsigned long k = 0; k < s; k++);
}

static void run_program(int first, int n) {
	double deadline = now_ms() + 60e3;
	for (int i = first; i < first + n && !ctl->stop; i++) {
		const struct op *op = &ops[i];
		if (op->skip) { ctl->res[i].state = 3; set_result(i, "-ESRCH"); continue; }
		if (!wait_for(op, deadline)) { ctl->res[i].state = 3; set_result(i, "not run (ordered after an operation that never returned)"); continue; }
		if (op->racy) spin();
		if (op->kind != OP_LOAD && op->kind != OP_STORE) { ctl->res[i].state = 1; ctl->progress++; }
		run_op(i);
		__sync_synchronize();
		/* returned after the userfaultfd was closed to release a blocked thread: not comparable with
		 * the model any more, and nothing after it runs */
		ctl->res[i].state = ctl->release ? 4 : 2;
		ctl->progress++;
		if (ctl->release) break;
	}
}

static void *thread_main(void *arg) {
	const struct thread *t = arg;
	/* Racing threads on different CPUs: a race needs them running at once. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu > 1) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET((int)((t - threads) % ncpu), &set);
		pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	}
	rng = (unsigned long)now_ms() * 2654435761UL ^ (unsigned long)(t - threads + 1) * 0x9e3779b97f4a7c15UL ^ (unsigned long)getpid();
	while (!ctl->go && !ctl->stop) sched_yield();
	run_program(t->first, t->n);
	return NULL;
}

/* A page for the threads' own buffers: mmap, never malloc — a fork(2) blocked in the kernel (waiting
 * for the monitor to read UFFD_EVENT_FORK) holds glibc's malloc locks, and the monitor must not
 * need them. */
static char *page_buffer(void) {
	void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* The userfaultfd monitor of this process (the scenario's uffd_handler daemon): read a message,
 * UFFDIO_COPY its value to a faulting page; on -EAGAIN read the pending events (waking the ranges
 * that went away) and retry; after a failed copy UFFDIO_WAKE the page, unless the monitor relies on
 * the documented UFFDIO_UNREGISTER wake (contract) and the page is in a range this process
 * unregistered. UFFD_EVENT_FORK's new userfaultfd (the child's) is kept open, unserved, and closed
 * at the end of the iteration. */
static void *monitor_main(void *arg) {
	const struct proc *p = arg;
	char *src = page_buffer();
	uint64_t queue[64];
	int nq = 0, forks[16], nforks = 0;
	while (!ctl->stop && src) {
		if (uffd < 0) { usleep(100); continue; }
		struct uffd_msg m;
		if (nq == 0) {
			struct pollfd pf = { .fd = uffd, .events = POLLIN };
			if (poll(&pf, 1, 1) <= 0) continue;
			if (read(uffd, &m, sizeof m) != sizeof m) continue;
		} else {
			m.event = UFFD_EVENT_PAGEFAULT;
			m.arg.pagefault.address = queue[--nq];
		}
		switch (m.event) {
		case UFFD_EVENT_PAGEFAULT: {
			uint64_t dst = m.arg.pagefault.address & ~(PAGE - 1);
			memset(src, 0, PAGE);
			*(long *)src = p->monitor_value;
			for (int tries = 0; tries < 100000 && !ctl->stop; tries++) {
				struct uffdio_copy c = { .dst = dst, .src = (uint64_t)src, .len = PAGE };
				if (ioctl(uffd, UFFDIO_COPY, &c) == 0) break;
				if (errno == EAGAIN) {
					struct uffd_msg e;
					while (read(uffd, &e, sizeof e) == sizeof e) {
						if (e.event == UFFD_EVENT_PAGEFAULT && nq < 64) queue[nq++] = e.arg.pagefault.address;
						if (e.event == UFFD_EVENT_UNMAP || e.event == UFFD_EVENT_REMOVE) uffd_wake(e.arg.remove.start, e.arg.remove.end - e.arg.remove.start);
						if (e.event == UFFD_EVENT_REMAP) uffd_wake(e.arg.remap.from, e.arg.remap.len);
						if (e.event == UFFD_EVENT_FORK && nforks < 16) forks[nforks++] = (int)e.arg.fork.ufd;
					}
					usleep(20);
					continue;
				}
				if (!(p->monitor_contract && errno == ENOENT && unregistered(dst))) uffd_wake(dst, PAGE);
				break;
			}
			break;
		}
		case UFFD_EVENT_UNMAP: case UFFD_EVENT_REMOVE: uffd_wake(m.arg.remove.start, m.arg.remove.end - m.arg.remove.start); break;
		case UFFD_EVENT_REMAP: uffd_wake(m.arg.remap.from, m.arg.remap.len); break;
		case UFFD_EVENT_FORK: if (nforks < 16) forks[nforks++] = (int)m.arg.fork.ufd; break;
		default: break;
		}
	}
	while (nforks) close(forks[--nforks]);
	if (src) munmap(src, PAGE);
	return NULL;
}

static const struct proc *proc_of(int pid) {
	for (int i = 0; i < NPROCS; i++) if (procs[i].pid == pid) return &procs[i];
	return NULL;
}
static int proc_index(int pid) {
	for (int i = 0; i < NPROCS; i++) if (procs[i].pid == pid) return i;
	return 0;
}

/* Start this process's threads (and monitor); they wait for ctl->go. */
static void start_threads(int pid) {
	ntids = 0;
	for (int t = 0; t < NTHREADS; t++)
		if (threads[t].pid == pid && ntids < MAXT) pthread_create(&tids[ntids++], NULL, thread_main, (void *)&threads[t]);
	const struct proc *p = proc_of(pid);
	if (p && p->monitor) pthread_create(&tids[ntids++], NULL, monitor_main, (void *)p);
	users_done = 0;
	collapse_running = 0;
	for (int c = 0; c < NCOLLAPSE; c++)
		if (collapse[c].pid == pid) { collapse_running = !pthread_create(&collapse_tid, NULL, collapse_main, NULL); break; }
}

static void final_reads(int pid) {
	for (int f = 0; f < NFINAL; f++) {
		if (fpages[f].pid != pid) continue;
		long v = 0;
		int sig = access_page(X(fpages[f].addr), 0, 0, &v, -1);
		if (sig) snprintf(ctl->fres[f].text, RESULT_TEXT, "%s", signame(sig));
		else snprintf(ctl->fres[f].text, RESULT_TEXT, "%ld", v);
		ctl->fres[f].state = 1;
	}
}

static void close_uffd(void) {
	int fd = __sync_lock_test_and_set(&uffd, -1);
	if (fd >= 0) close(fd);
}

/* A process forked by the counterexample (or an initial process other than P1). */
static void process_body(int pid, int setup);
void child_main(int pid) {
	my_pid = pid;
	/* The inherited userfaultfd is the parent's: closing ours keeps the parent's close effective. */
	close_uffd();
	if (stall_fd >= 0) { close(stall_fd); stall_fd = -1; }
	stall_ok = 0;
	nunreg = 0;
	nvm = 0;                /* the parent's VMs: its own to close */
	pthread_mutex_init(&vm_lock, NULL);
	ctl->realpid[pid] = getpid();
	xlate_publish();        /* the translations inherited from the parent */
	process_body(pid, proc_of(pid) && proc_of(pid)->initial);
}

static int run_setup(int pid) {
	const struct proc *p = proc_of(pid);
	if (!p) return 1;
	for (int i = p->setup_first; i < p->setup_first + p->setup_n; i++) {
		run_op(i);
		const char *r = ctl->res[i].text;
		/* A policy naming a NUMA node this machine lacks: the policy is not applied (no value the
		 * model judges depends on it), the setup goes on. */
		if (ops[i].kind == OP_MBIND && !strcmp(r, "-EINVAL")) {
			static int noted;
			if (!noted++) printf("note: setup %s gave -EINVAL (a node this machine lacks?): the policy is not applied\n", ops[i].text);
			ctl->res[i].state = 2;
			continue;
		}
		if (!strncmp(r, "-", 1) || !strncmp(r, "SIG", 3) || !strncmp(r, "not run", 7)) {
			snprintf(ctl->setup_error, sizeof ctl->setup_error, "setup %s gave %s", ops[i].text, r);
			return 0;
		}
		ctl->res[i].state = 2;
	}
	return 1;
}

static void kernel_setup(int pid) {
	for (int k = 0; k < NKSETUP; k++) {
		const struct ksetup *a = &ksetup[k];
		if (a->kind == KS_SWAP_OUT && a->pid == pid) {
			/* swapped out at the start: reclaim of the one page (MADV_PAGEOUT -> shrink_folio_list) */
			uint64_t pa = X(a->addr) & ~(PAGE - 1);
			madvise((void *)pa, PAGE, MADV_PAGEOUT);
			if (page_swapped(pa) == 0 && !__sync_fetch_and_add(&ctl->noted_swapout, 1))
				printf("note: setup: P%d's page 0x%lx is still resident after MADV_PAGEOUT (%s): it starts resident, not swapped out\n", pid,
				       (unsigned long)a->addr, swap_ok || machine_swaps() ? "mapped by another process too, or swap full" : "no swap");
		}
		if (pid != 1) continue;
		if (a->kind == KS_EVICT) {
			/* page-cache eviction of one clean page (invalidate_mapping_pages: a mapped page stays) */
			posix_fadvise(file_fd[a->file], (off_t)a->page * PAGE, PAGE, POSIX_FADV_DONTNEED);
			void *m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, file_fd[a->file], (off_t)a->page * PAGE);
			unsigned char in = 0;
			if (m != MAP_FAILED && mincore(m, PAGE, &in) == 0 && (in & 1) && !__sync_fetch_and_add(&ctl->noted_swapout, 1))
				printf("note: setup: page %d of %s is still in the page cache after POSIX_FADV_DONTNEED (mapped?): it starts cached, not evicted\n", a->page, files[a->file].name);
			if (m != MAP_FAILED) munmap(m, PAGE);
		}
		if (a->kind == KS_CACHE) { long w; if (pread(file_fd[a->file], &w, sizeof w, (off_t)a->page * PAGE) < 0) {} }
	}
}

static void process_body(int pid, int setup) {
	int pi = proc_index(pid);
	if (setup) {
		while (ctl->setup_turn != pi && !ctl->stop && !ctl->setup_failed) sched_yield();
		if (!run_setup(pid)) ctl->setup_failed = 1;
		ctl->setup_turn = pi + 1;
		while (ctl->setup_turn < NPROCS_INITIAL && !ctl->stop && !ctl->setup_failed) sched_yield();
		kernel_setup(pid);
	}
	ctl->started[pi] = 1;
	start_threads(pid);
	ctl->ready[pi] = 1;
	const struct proc *p = proc_of(pid);
	int users = ntids - (p && p->monitor ? 1 : 0);
	/* the user threads; the monitor runs until ctl->stop */
	for (int t = 0; t < users; t++)
		while (pthread_tryjoin_np(tids[t], NULL) == EBUSY) {
			if (ctl->release) close_uffd();
			usleep(200);
		}
	users_done = 1;
	if (collapse_running) { pthread_join(collapse_tid, NULL); collapse_running = 0; }
	ctl->done[pi] = 1;
	/* final memory, read while the monitor still serves faults */
	while (!ctl->finals && !ctl->stop) { if (ctl->release) close_uffd(); if (pid != 1) orphan_check(); usleep(200); }
	if (ctl->finals && !ctl->release) final_reads(pid);
	ctl->finals_done[pi] = 1;
	while (!ctl->stop) { if (pid != 1) orphan_check(); usleep(200); }
	if (users < ntids) pthread_join(tids[ntids - 1], NULL);
	close_uffd();
}

/* ---------------------------------------------------------------------------------------------- */
/* Files, iteration setup and teardown */

/* A scenario file's path in the reproducer's directory: its name with '/' as '_'; a simulated
 * driver device's stand-in (a regular file) is named by the device's last component, so that
 * /proc/pid/maps shows the name the model shows (the basename: "pfnmap0" for /dev/pfnmap0). */
static void file_path(int f, char *path, size_t n) {
	const char *name = files[f].name;
	if (files[f].device && strrchr(name, '/')) name = strrchr(name, '/') + 1;
	snprintf(path, n, "%s/%s", dir, name);
	for (char *c = path + strlen(dir) + 1; *c; c++) if (*c == '/') *c = '_';
}

static void files_reset(void) {
	for (int f = 0; f < NFILES; f++) {
		if (file_fd[f] < 0) {
			char path[256];
			file_path(f, path, sizeof path);
			file_fd[f] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
			if (file_fd[f] < 0) die2("cannot create %s: %s", path, strerror(errno));
			file_dfd[f] = open(path, O_RDWR | O_DIRECT);
			if (file_dfd[f] < 0 && !odirect_noted++)
				printf("note: %s refuses O_DIRECT (%s): O_DIRECT reads and writes are buffered, nothing is pinned\n", dir, strerror(errno));
		}
		if (ftruncate(file_fd[f], 0) || ftruncate(file_fd[f], (off_t)files[f].npages * PAGE)) die2("ftruncate: %s", strerror(errno));
		for (int p = 0; p < files[f].npages; p++) {
			long w = files[f].pages[p];
			if (pwrite(file_fd[f], &w, sizeof w, (off_t)p * PAGE) != sizeof w) die2("pwrite: %s", strerror(errno));
		}
		fsync(file_fd[f]);
	}
}

static void teardown_mappings(void) {
	vms_close();
	for (int w = 0; w < NFIXED; w++) munmap((void *)fixed_window[w].start, fixed_window[w].end - fixed_window[w].start);
	for (int i = 0; i < nxl; i++) munmap((void *)xl[i].real, xl[i].len);
	nxl = 0;
}

static void check_window_free(void) {
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f) return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		unsigned long s, e;
		if (sscanf(line, "%lx-%lx", &s, &e) != 2) continue;
		for (int w = 0; w < NFIXED; w++)
			if (s < fixed_window[w].end && fixed_window[w].start < e)
				die2("the scenario's range %lx-%lx is in use by the reproducer itself: %s", (unsigned long)fixed_window[w].start, (unsigned long)fixed_window[w].end, line);
	}
	fclose(f);
}

static unsigned long read_taint(void) {
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");
	unsigned long t = 0;
	if (f) { if (fscanf(f, "%lu", &t) != 1) t = 0; fclose(f); }
	return t;
}
#define TAINT_BITS ((1UL << 5) | (1UL << 7) | (1UL << 9) | (1UL << 14))

static int in_set(const char *s, int n, const char *const *set) {
	for (int i = 0; i < n; i++) if (!strcmp(s, set[i])) return 1;
	return 0;
}

/* ---------------------------------------------------------------------------------------------- */

static unsigned repro_hang, repro_value, repro_proc, repro_taint, repro_iters, other_iters, iters_run, legit_blocked;
static int it_hang, it_value, it_proc, it_taint, nreports;

/* One observation. PRIMARY: the checks that stand for the counterexample's property (they decide
 * the verdict); the others are reported as "also observed" and do not. */
static void report(int *flag, int check, const char *fmt, ...) {
	*flag = 1;
	if (nreports >= 3) return;
	nreports++;
	va_list ap;
	va_start(ap, fmt);
	printf("  iteration %u%s: ", iters_run + 1, (PRIMARY & check) ? "" : " (also observed, not the checked property)");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static int pending_ops(int state_below) {
	for (int i = 0; i < NOPS; i++) if (ops[i].thread >= 0 && ctl->res[i].state < state_below) return 1;
	return 0;
}

int main(int argc, char **argv) {
	if (argc > 1) iterations = (unsigned)atoi(argv[1]);
	if (argc > 2) timeout_ms = (unsigned)atoi(argv[2]);
	if (argc > 3 || (argc > 1 && atoi(argv[1]) <= 0) || (argc > 2 && atoi(argv[2]) <= 0)) {
		fprintf(stderr, "usage: %s [ITERATIONS] [TIMEOUT_MS]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	main_pid = getpid();
	/* The simulation's and the model's RLIMIT_STACK (SIM_RLIMIT_STACK, model STACK_RLIMIT: 256
	 * pages): a MAP_GROWSDOWN stack grows no further than that below its end (acct_stack_growth),
	 * here as there. Before any thread exists (their stacks are sized from it). */
	struct rlimit stack_rl;
	getrlimit(RLIMIT_STACK, &stack_rl);
	stack_rl.rlim_cur = 256 * 4096;
	if (stack_rl.rlim_max < stack_rl.rlim_cur) stack_rl.rlim_cur = stack_rl.rlim_max;
	if (setrlimit(RLIMIT_STACK, &stack_rl) != 0) die2("setrlimit(RLIMIT_STACK): %s", strerror(errno));
	printf("%s", banner);
	printf("running %u iteration(s); a hang: no progress for %u ms, confirmed over another %u ms\n", iterations, timeout_ms, timeout_ms);
	ctl = mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED) die2("mmap of the shared results: %s", strerror(errno));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	snprintf(dir, sizeof dir, "/tmp/faultline-repro-XXXXXX");
	if ((NFILES > 0 || NEEDS_SWAP) && !mkdtemp(dir)) die2("mkdtemp: %s", strerror(errno));
	swap_setup();
	for (int f = 0; f < NFILES; f++) file_fd[f] = file_dfd[f] = -1;
	check_window_free();
	if (NEEDS_UFFD) {
		int fd = uffd_open(0);
		if (fd < 0) die2("userfaultfd(2) is not available to this user: %s (vm.unprivileged_userfaultfd=0 without CAP_SYS_PTRACE?)", strerror(errno));
		close(fd);
	}
	if (NSTALL > 0) {
		stall_setup();
		if (!stall_ok) printf("note: no userfaultfd for kernel-mode faults: syscalls are not stalled at their user buffers\n");
	}
	unsigned long taint0 = read_taint();
	pthread_t stall_tid;
	if (stall_ok) pthread_create(&stall_tid, NULL, stall_thread, NULL);
	double t0 = now_ms();
	for (iters_run = 0; iters_run < iterations; iters_run++) {
		it_hang = it_value = it_proc = it_taint = 0;
		ctl->go = 0; ctl->stop = 0; ctl->release = 0; ctl->finals = 0; ctl->setup_turn = 0; ctl->setup_failed = 0;
		for (int i = 0; i < MAXP; i++) { ctl->started[i] = 0; ctl->ready[i] = 0; ctl->done[i] = 0; ctl->finals_done[i] = 0; }
		for (int i = 0; i < NOPS; i++) { ctl->res[i].state = 0; ctl->res[i].text[0] = 0; }
		for (int i = 0; i < NFINAL; i++) { ctl->fres[i].state = 0; ctl->fres[i].text[0] = 0; }
		for (int i = 0; i < NMAPSOPS; i++) ctl->maps[i][0] = 0;
		nunreg = 0;
		my_pid = 1;
		for (int i = 0; i < MAXP + 4; i++) ctl->realpid[i] = 0;
		for (int i = 0; i < MAXP; i++) ctl->nxl[i] = 0;
		ctl->daemons_quit = 0;
		ctl->realpid[1] = getpid();
		files_reset();
		/* the daemon helper (reclaim, swapoff), before any setup: outside the scenario's mms */
		daemons_pid = daemons_start();
		/* the other initial processes */
		for (int p = 0; p < NPROCS; p++) {
			if (!procs[p].initial || procs[p].pid == 1) continue;
			pid_t c = fork();
			if (c < 0) die2("fork: %s", strerror(errno));
			if (c == 0) { child_main(procs[p].pid); _exit(0); }
		}
		/* P1's setup in its turn; its threads in a helper thread, so this one can watch */
		int p1 = proc_index(1);
		while (ctl->setup_turn != p1 && !ctl->setup_failed) sched_yield();
		if (!run_setup(1)) ctl->setup_failed = 1;
		ctl->setup_turn = p1 + 1;
		while (ctl->setup_turn < NPROCS_INITIAL && !ctl->setup_failed) sched_yield();
		if (ctl->setup_failed) {
			ctl->stop = 1;
			while (waitpid(-1, NULL, 0) > 0);
			die2("%s, where the counterexample's setup succeeded", ctl->setup_error);
		}
		kernel_setup(1);
		pthread_t body;
		pthread_create(&body, NULL, p1_body, NULL);
		for (;;) {
			int all = 1;
			for (int p = 0; p < NPROCS; p++) if (procs[p].initial && !ctl->ready[p]) all = 0;
			if (all) break;
			sched_yield();
		}
		ctl->go = 1;
		/* watch: until every program finished, or nothing progressed for timeout_ms */
		long last = ctl->progress;
		double since = now_ms();
		while (pending_ops(2)) {
			if (ctl->progress != last) { last = ctl->progress; since = now_ms(); }
			if (now_ms() - since > timeout_ms) break;
			usleep(100);
		}
		/* a suspected hang is confirmed by a second bound: a thread that was merely not scheduled
		 * (a loaded machine) finishes meanwhile */
		for (double confirm = now_ms() + timeout_ms; pending_ops(2) && now_ms() < confirm;) {
			int suspect = 0;
			for (int i = 0; i < NOPS; i++) if (ops[i].thread >= 0 && ctl->res[i].state == 1 && !ops[i].may_block) suspect = 1;
			if (!suspect) break;
			usleep(200);
		}
		ctl->daemons_quit = 1;
		/* hang: an operation still running that the model says cannot block forever */
		int hung = 0, blocked_ok = 0;
		for (int i = 0; i < NOPS; i++) {
			if (ops[i].thread < 0 || ctl->res[i].state != 1) continue;
			if (ops[i].may_block) { blocked_ok = 1; continue; }
			hung = 1;
			if (!(CHECKS & CHECK_HANG)) continue;
			char extra[300] = "";
			if ((ops[i].kind == OP_LOAD || ops[i].kind == OP_STORE) && ops[i].pid == 1) {
				if (unregistered(X(ops[i].addr) & ~(PAGE - 1)))
					strncat(extra, "; its page's range was unregistered (UFFDIO_UNREGISTER returned 0)", sizeof extra - strlen(extra) - 1);
				int fd = uffd;
				struct uffd_msg m;
				if (fd >= 0 && read(fd, &m, sizeof m) == sizeof m && m.event == UFFD_EVENT_PAGEFAULT) {
					char b[128];
					snprintf(b, sizeof b, "; its page fault (0x%llx) was still pending on the userfaultfd", (unsigned long long)m.arg.pagefault.address);
					strncat(extra, b, sizeof extra - strlen(extra) - 1);
				}
			}
			report(&it_hang, CHECK_HANG, "hang: thread %s still blocked in %s, %u ms after the last progress%s",
			       threads[ops[i].thread].name, ops[i].text, 2 * timeout_ms, extra);
		}
		if (blocked_ok) legit_blocked++;
		if (hung || blocked_ok) {
			/* release: close the userfaultfds (wakes every fault asleep in handle_userfault) */
			ctl->release = 1;
			close_uffd();
			double until = now_ms() + 2000;
			while (pending_ops(2)) {
				if (now_ms() > until) {
					for (int i = 0; i < NOPS; i++)
						if (ops[i].thread >= 0 && ctl->res[i].state == 1)
							printf("  thread %s is still blocked in %s 2 s after its userfaultfd was closed: hung for good\n", threads[ops[i].thread].name, ops[i].text);
					if (PRIMARY & CHECK_HANG) {
						printf("verdict: reproduced - %s: hang (iteration %u)\n", VERDICT_PROPERTY, iters_run + 1);
						fflush(stdout);
						swap_cleanup();
						_exit(1);
					}
					printf("verdict: not reproduced - the run hung for good (not the property this reproducer checks: %s)\n", CHECKED);
					fflush(stdout);
					swap_cleanup();
					_exit(0);
				}
				usleep(200);
			}
		}
		/* final memory (read by each process while its monitor still runs), then stop */
		ctl->finals = 1;
		double until = now_ms() + 2000;
		for (int p = 0; p < NPROCS; p++) while (ctl->started[p] && !ctl->finals_done[p] && now_ms() < until) usleep(100);
		ctl->stop = 1;
		pthread_join(body, NULL);
		int complete = !hung && !blocked_ok && !pending_ops(2);
		if ((CHECKS & CHECK_VALUE) && MODEL_COMPLETE) {
			for (int i = 0; i < NOPS; i++) {
				if (ops[i].thread < 0 || !ops[i].judge || ctl->res[i].state != 2) continue;
				if (!in_set(ctl->res[i].text, ops[i].nallowed, ops[i].allowed))
					report(&it_value, CHECK_VALUE, "value: %s (thread %s) = %s, which no interleaving allowed by the model gives", ops[i].text, threads[ops[i].thread].name, ctl->res[i].text);
			}
			if (complete)
				for (int f = 0; f < NFINAL; f++) {
					if (!ctl->fres[f].state) continue;
					if (!in_set(ctl->fres[f].text, fpages[f].n, fpages[f].allowed))
						report(&it_value, CHECK_VALUE, "value: after the run P%d's page 0x%lx reads %s, which no interleaving allowed by the model leaves", fpages[f].pid, (unsigned long)fpages[f].addr, ctl->fres[f].text);
				}
		}
		if ((CHECKS & CHECK_PROC) && MODEL_COMPLETE)
			for (int i = 0; i < NOPS; i++) {
				int m = maps_slot[i];
				if (m < 0 || ops[i].thread < 0 || ctl->res[i].state != 2 || !ops[i].nmaps) continue;
				if (!in_set(ctl->maps[m], ops[i].nmaps, ops[i].maps))
					report(&it_proc, CHECK_PROC, "proc: %s showed window lines the model never shows:\n%s", ops[i].text, ctl->maps[m]);
			}
		unsigned long taint = read_taint();
		if ((CHECKS & CHECK_TAINT) && ((taint & ~taint0) & TAINT_BITS)) {
			report(&it_taint, CHECK_TAINT, "taint: the kernel's taint flags went from %lu to %lu (a WARN, oops, bad page or soft lockup: see dmesg)", taint0, taint);
			taint0 = taint;
		}
		/* teardown */
		while (waitpid(-1, NULL, 0) > 0);
		daemons_pid = 0;
		if (swap_ok && !ctl->swap_on && swapon(swap_path, SWAP_FLAG_PREFER | 32767) == 0) ctl->swap_on = 1;
		close_uffd();
		teardown_mappings();
		repro_hang += it_hang; repro_value += it_value; repro_proc += it_proc; repro_taint += it_taint;
		int prim = ((PRIMARY & CHECK_HANG) && it_hang) || ((PRIMARY & CHECK_VALUE) && it_value) ||
			   ((PRIMARY & CHECK_PROC) && it_proc) || ((PRIMARY & CHECK_TAINT) && it_taint);
		if (prim) repro_iters++;
		else if (it_hang || it_value || it_proc || it_taint) other_iters++;
		if (STOP_AT_FIRST && repro_iters) { iters_run++; break; }
	}
	ctl->stall_quit = 1;
	if (stall_ok) pthread_join(stall_tid, NULL);
	for (int f = 0; f < NFILES; f++) { if (file_fd[f] >= 0) close(file_fd[f]); if (file_dfd[f] >= 0) close(file_dfd[f]); }
	if (NFILES > 0 || NEEDS_SWAP) {
		swap_cleanup();
		for (int f = 0; f < NFILES; f++) {
			char path[256];
			file_path(f, path, sizeof path);
			unlink(path);
		}
		rmdir(dir);
	}
	printf("%u iterations in %.1f s: %u with a hang, %u with a forbidden value, %u with forbidden /proc lines, %u with a taint change",
	       iters_run, (now_ms() - t0) / 1e3, repro_hang, repro_value, repro_proc, repro_taint);
	if (legit_blocked) printf("; %u with an operation blocked where the model allows it", legit_blocked);
	printf("\n");
	if (other_iters) printf("also observed in %u iteration(s): something this reproducer does not check for (see above)\n", other_iters);
	if (NRECLAIM > 0) printf("reclaim daemon: %d MADV_PAGEOUT(s) of its target pages (process_madvise), %d of which left the page not present (swapped out or unmapped)\n", ctl->pageouts, ctl->reclaimed);
	if (RUN_SWAPOFF) printf("swapoff daemon: %d swapoff(2) of the reproducer's swap file\n", ctl->swapoffs);
	if (repro_iters) {
		printf("verdict: reproduced - %s (%u of %u iterations, %.1f%%)\n", VERDICT_PROPERTY, repro_iters, iters_run, 100.0 * repro_iters / iters_run);
		return 1;
	}
	printf("verdict: not reproduced - checked %s in %u iterations\n", CHECKED, iters_run);
	return 0;
}

void *p1_body(void *arg) {
	(void)arg;
	process_body(1, 0);
	return NULL;
}
