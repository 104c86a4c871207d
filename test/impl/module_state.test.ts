/**
 * No kernel state in a module. Kernel state lives on the kernel's objects (vm_area_struct,
 * mm_struct, …) or in the per-run kernel (`k.state(...)`, an Execution slot), never in a
 * module-level variable of a kernel module: a variant's copy of a function has its own module
 * (test/impl/override_identity.test.ts) and would not share it, and module state outlives the
 * run (memory that grows with a campaign, answers that depend on earlier runs).
 *
 * This lint reads every kernel module of the table (impl/sim/table.ts), impl/include and
 * impl/sync, and fails on a module-level `let`/`var`, a `static` class field that is not
 * readonly, and a module-level `const` whose value is not plainly immutable (a number, string,
 * regex without g/y, a function, a frozen object, an alias) — unless it is listed below with the
 * reason it is not per-run kernel state. A listed name that no longer exists fails too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

const CACHE = 'a slab cache: kmem_cache_create returns the one cache of that name, flags, size and constructor (impl/sync/kasan.ts), so a copy of the module shares it; its per-run free lists live in the Execution';
const OPS = 'an ops table of functions, never written (each entry calls through k.fn or is a function of the module)';

/** Module-level values that are not per-run kernel state, by "file:name", with the reason. */
const ALLOWED: Readonly<Record<string, string>> = {
  'impl/mm/pgtable_generic.ts:pte_cachep': CACHE,
  'impl/mm/page_alloc.ts:folio_cachep': CACHE,
  'impl/mm/rmap.ts:anon_vma_cachep': CACHE,
  'impl/fs/file_table.ts:filp_cachep': CACHE,
  'impl/mm/rmap.ts:avc_cachep': CACHE,
  'impl/mm/maple_tree.ts:maple_node_cache': CACHE,
  'impl/mm/swapfile.ts:swap_map_cachep': CACHE,
  'impl/mm/swapfile.ts:swapper_spaces_cachep': CACHE,
  'impl/mm/mempolicy.ts:policy_cache': CACHE,
  'impl/mm/userfaultfd.ts:userfaultfd_ctx_cachep': CACHE,
  'impl/mm/vma_init.ts:vm_area_cachep': CACHE,
  'impl/mm/vma_init.ts:vm_area_cachep_typesafe': CACHE,
  'impl/mm/vma_init.ts:KEEP': 'a constant set of field names (ReadonlySet), never written',
  'impl/mm/filemap.ts:generic_file_vm_ops': OPS,
  'impl/mm/mmap.ts:shmem_vm_ops': OPS,
  'impl/mm/fork.ts:mm_cachep': CACHE,
  'impl/drivers/misc_device.ts:misc_pfnmap_vm_ops': OPS,
  'impl/drivers/misc_device.ts:misc_fault_vm_ops': OPS,
  'impl/drivers/misc_device.ts:misc_mmaplock_vm_ops': OPS,
  'impl/drivers/misc_device.ts:misc_mmaplock_optin_vm_ops': OPS,
  'impl/drivers/misc_device.ts:misc_safe_vm_ops': OPS,
  'impl/drivers/misc_device.ts:misc_fops': OPS,
  'impl/drivers/misc_device.ts:kvm_fops': OPS,
  'impl/include/linux/mm_types.ts:nextId': 'the object-name counter: reset by sim_reset_ids() at the start of every run (impl/sim/run.ts); impl/include is one module for every copy',
  'impl/sync/bitlock.ts:folio_lock_class': 'a static lock class (lock_class_key), bounded by the classes named in the source',
  'impl/sync/kasan.ts:cacheIds': 'static cache ids, one per distinct kmem_cache_create',
  'impl/sync/kasan.ts:kmalloc_cache': 'the static kmalloc cache; per-run state lives in the Execution slot',
  'impl/sync/kasan.ts:caches': 'static caches by name (sim_kasan_track), bounded by the names in the source',
  'impl/sync/kasan.ts:created': 'the static caches of kmem_cache_create (one per distinct request in the source): what a copy of a module shares',
  'impl/sync/kasan.ts:RUN': 'an Execution slot index: the per-run KASAN state lives in the run',
  'impl/sync/kasan.ts:writeSeq': 'a process-wide count of instrumented writes, used only as a change stamp between two checks of one run (sim_kasan_write_stamp)',
  'impl/sync/lockdep.ts:classes': 'static lock classes (lock_class_key), bounded by the classes named in the source',
  'impl/sync/lockdep.ts:registry': 'static lock classes by name, bounded by the classes named in the source',
  'impl/sync/lockdep.ts:RUN': 'an Execution slot index: the lock graph of a run lives in the run',
  'impl/sync/lockdep.ts:lockdepHooks': 'an object of hook functions, never written',
  'impl/sync/rcu.ts:RUN': 'an Execution slot index: the per-run RCU state lives in the run',
  'impl/sync/sched.ts:SLOT': 'a task slot index: per-task state lives in the task',
  'impl/sync/rwsem.ts:LABELS': 'a constant table of step labels, never written',
};

/** The files: the table's kernel modules, impl/include, impl/sync. */
function kernelFiles(): string[] {
  const sim = join(ROOT, 'impl', 'sim');
  const table = readFileSync(join(sim, 'table.ts'), 'utf8');
  const mods = [...table.matchAll(/^import \* as \w+ from '(\.[^']+)';$/gm)].map((m) => join(sim, m[1]!.replace(/\.js$/, '.ts')));
  const dir = (d: string) => readdirSync(join(ROOT, d)).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, d, f));
  return [...mods, ...dir('impl/include/linux'), ...dir('impl/sync')].map((f) => relative(ROOT, f));
}

/** Is a module-level initializer plainly immutable? */
function immutable(init: string): boolean {
  const s = init.trim().replace(/;$/, '');
  if (s.startsWith('/')) return /^\/.*\/[imsu]*$/.test(s); // a regex: without g/y (no lastIndex state)
  if (/^(async\s+)?function\b/.test(s)) return true; // a function expression
  if (/^(async\s+)?(\([^)]*\)|\w+)\s*(:\s*[^=]+)?=>/.test(s)) return true; // an arrow function
  if (/^\(.*=>/.test(s)) return true; // an arrow function (typed parameters)
  if (/^'[^']*'$|^"[^"]*"$|^`[^`$]*`$/.test(s)) return true; // a string
  if (/^(Object\.freeze|Symbol)\(/.test(s)) return true;
  // Numbers, constants and operators (also several declarators: `A = 0, B = 1,`); no call, no
  // `new`, no generic type arguments (a `<` or `>` that is not a shift).
  const ops = s.replace(/>>>|>>|<<|=>/g, ' ');
  if (/^[\w\s|&()+\-*/~^.,=]+$/.test(ops) && !/\w\s*\(/.test(s) && !/\bnew\b/.test(s)) return true;
  return false;
}

interface Finding {
  readonly key: string;
  readonly line: number;
  readonly text: string;
}

/** Module-level mutable state of one file's source. */
export function moduleState(file: string, src: string): Finding[] {
  const out: Finding[] = [];
  const lines = src.split('\n');
  let inComment = false;
  lines.forEach((text, i) => {
    if (inComment) {
      if (text.includes('*/')) inComment = false;
      return;
    }
    if (/^\s*\/\*/.test(text) && !text.includes('*/')) {
      inComment = true;
      return;
    }
    const decl = /^(?:export\s+)?(let|var|const)\s+(\w+)(?:\s*:\s*[^=]+?)?\s*=\s*(.*)$/.exec(text) ??
      /^(?:export\s+)?(let|var)\s+(\w+)/.exec(text);
    if (decl) {
      const [, kind, name] = decl;
      // The initializer: on the line, or on the next one (`const x =` then a line break).
      const init = decl[3]?.trim() ? decl[3] : (lines[i + 1] ?? '');
      if (kind !== 'const' || !immutable(init)) out.push({ key: `${file}:${name}`, line: i + 1, text });
      return;
    }
    const st = /^\s+(?:private\s+|protected\s+|public\s+)?static\s+(?!readonly\b)(\w+)\s*[:=]/.exec(text);
    if (st && !/\(/.test(text.slice(0, text.indexOf(st[1]!) + st[1]!.length + 1))) {
      out.push({ key: `${file}:static ${st[1]}`, line: i + 1, text });
    }
  });
  return out;
}

describe('module-level state of the kernel modules', () => {
  const files = kernelFiles();
  const found = files.flatMap((f) => moduleState(f, readFileSync(join(ROOT, f), 'utf8')));

  it('reads every kernel module of the table, impl/include and impl/sync', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files).toContain('impl/mm/mmap_lock.ts');
    expect(files).toContain('impl/sync/kasan.ts');
  });

  it('has no module-level mutable state that is not listed with a reason', () => {
    const unlisted = found.filter((f) => !(f.key in ALLOWED)).map((f) => `${f.key} (line ${f.line}): ${f.text.trim()}`);
    expect(unlisted, 'keep kernel state on the kernel\'s objects or in the per-run kernel (k.state, an Execution slot); ' +
      'a module-level value that is not per-run state goes in ALLOWED with its reason').toEqual([]);
  });

  it('lists nothing that no longer exists', () => {
    const keys = new Set(found.map((f) => f.key));
    expect(Object.keys(ALLOWED).filter((k) => !keys.has(k))).toEqual([]);
  });

  it('catches a module-level WeakMap, a let, a mutable static, an array — and passes constants and functions', () => {
    const src = [
      'const transientReaders = new WeakMap<object, number>();',
      'let depth = 0;',
      'export const seen: string[] = [];',
      'class X {',
      '  static count = 0;',
      '  static readonly MAX = 4;',
      '}',
      'const PAGE_ALIGN = (x: number): number => Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;',
      'export const FOLL_WRITE = 1 << 0;',
      'const FGP_WRITEBEGIN = FGP_LOCK | FGP_WRITE | FGP_CREAT | FGP_STABLE;',
      "export const SHMEM_ZERO_NAME = '/dev/zero (deleted)';",
      'const POLICY = /^(default|local)$/;',
      'const GLOBAL = /x/g;',
      "export const __pte_none: pte_t = Object.freeze({ kind: 'none' });",
      '/*',
      'let inComment = 1;',
      '*/',
      'export const reinit_completion = init_completion;',
    ].join('\n');
    expect(moduleState('x.ts', src).map((f) => f.key)).toEqual([
      'x.ts:transientReaders', 'x.ts:depth', 'x.ts:seen', 'x.ts:static count', 'x.ts:GLOBAL',
    ]);
  });
});
