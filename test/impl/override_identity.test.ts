/**
 * Overrides never change a verdict by themselves. Kernel functions of the table
 * (impl/sim/table.ts) are replaced by faithful copies of themselves — the same source, evaluated
 * a second time as a distinct module (`<module>?copy`: its own file-local state, the same code) —
 * and every run must give what the base gives: the same verdict and message, the same schedule,
 * step count, preemptions, history and statistics, and the same kernel state at the end (every
 * mm, VMA and page-table entry, by the names allocation order gives them).
 *
 * Which functions: all of them at once, and then split — a variant overrides some functions,
 * not their neighbours, and a copy must agree with the base functions it runs beside. Split j
 * copies the functions whose index (in name order) has bit j set: any two functions are on
 * different sides of at least one split, so state that two functions share through their module
 * (and not through the kernel) makes some split differ from the base.
 *
 * What it catches: kernel state kept in a module (a WeakMap, a cache, a counter) instead of on
 * the kernel's objects or in the per-run kernel: a variant's copy of a function would not share
 * it, and its verdicts would differ from the base's (the transient VMA read holds of
 * vma_start_read were such state: a faithful override of it tripped vma-lock-exclusion).
 * test/impl/module_state.test.ts keeps new module-level state out.
 *
 * The runs: every scenario family on every generation (a seed each, random and PCT schedules, and
 * once with fault injection on); more workloads of the general generator (the `random` family) on
 * every generation, each against the copies of all functions and one split (the splits in turn);
 * every zoo mutant on its own family; and every kept counterexample of test/regressions replayed
 * on its configuration or mutant (the mutant's own overrides on top of the copies). With
 * FAULTLINE_DEEP=1 (npm run test:deep): more seeds of every family and many more general workloads.
 *
 * Which functions the runs reach: the 'all' copies record their calls. A copy that no run calls
 * cannot disagree, so every function of the table is accounted for at the end — reached (its copy
 * ran and the runs agreed), or reported unreached with why: a class (created with new, never
 * called), no code of impl/ calls it (an accessor for the checks, or a kernel function kept for
 * variants and tests), only functions that no run reached call it (static: the impl/ source blocks
 * that name it through the table), or a reason written in UNREACHED_WHY below. The test prints the
 * whole account; it fails if the runs reach less than MIN_REACHED of the functions impl/ calls, or
 * (deep) if any unreached function is left unexplained.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_HOME, baseTable, type KernelFns } from '../../impl/sim/table.js';
import { GENERATIONS } from '../../impl/sim/config.js';
import { defineVariant, type Variant } from '../../impl/sim/variant.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import { RandomScheduler, mixSeed } from '../../impl/rt/schedulers/random.js';
import { PctScheduler } from '../../impl/rt/schedulers/pct.js';
import type { Scheduler } from '../../impl/rt/scheduler.js';
import { runScenario } from '../../properties/runner.js';
import type { RunReport } from '../../properties/api.js';
import { FAMILIES } from '../../properties/scenarios/index.js';
import { resolveVariant, runCampaign } from '../../properties/campaign.js';
import { CONFIGURATIONS } from '../../properties/configs.js';
import { FILE, PAGE, RW, anon, fileMap, filePages, load, page, store, uffdRegister } from '../../properties/scenarios/build.js';
import type { ModelOp } from '../../model/ops.js';
import { k, type Kernel } from '../../impl/sim/kernel.js';
import { MUTANTS } from '../../impl/bugs/index.js';
import { tableEntries, tableReferences } from '../../properties/coverage_table.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DEEP = !!process.env.FAULTLINE_DEEP;
/** Scenarios drawn per family and generation. */
const SEEDS = DEEP ? 3 : 1;
/** More workloads of the general generator (the `random` family) per generation. */
const GENERAL_SEEDS = DEEP ? 300 : 16;
/**
 * The share of the functions impl/ calls (classes and uncalled functions aside) the runs must
 * reach. Re-measured when the generator's draws moved (populatedArb, Target.near 4, FAULTER_SHARE,
 * close in the op table): 531 of 605 (87.8%); main before it reached 542 of 605 (89.6%) — the 16
 * general workloads of seeds 2–17 now draw no 2 MiB region khugepaged collapses or a split/move
 * of a huge PMD, no exit, no KVM ioctl, no /proc/pid/mem write (those functions are reached by
 * other draws: test/properties/general.test.ts, the deep run). 98% with FAULTLINE_DEEP.
 */
const MIN_REACHED = 0.875;

/**
 * Functions impl/ calls that the runs do not reach, and why (an entry the runs reach, or that names
 * no function of the table, is printed as stale).
 */
const UNREACHED_WHY: Readonly<Record<string, string>> = {
  do_numa_page:
    'a NUMA-hinting entry (PROT_NONE in an accessible VMA): NUMA balancing (change_prot_numa) is left out, and mprotect changes a VMA and its entries under the write locks',
  mpol_get: 'mpol_needs_cond_ref is false here: MPOL_F_SHARED (shmem shared policies) is never set',
  pte_mkuffd_wp: 'no entry carries the uffd-wp bit: UFFDIO_WRITEPROTECT is not an operation of the model (pte_uffd_wp is always false)',
  wp_pfn_shared:
    'a write fault on a read-only entry of a shared PFN map: only a driver with ->pfn_mkwrite (write-notify) keeps them read-only; the simulated driver has none (impl/drivers/misc_device.ts)',
};
const SIM = join(ROOT, 'impl', 'sim');

/** The kernel modules of the table, as table.ts imports them (relative to impl/sim). */
function tableModulePaths(): string[] {
  const src = readFileSync(join(SIM, 'table.ts'), 'utf8');
  return [...src.matchAll(/^import \* as \w+ from '(\.[^']+)';$/gm)].map((m) => m[1]!);
}

/** Every exported function of a fresh instance of every table module. */
async function copiedFunctions(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const rel of tableModulePaths()) {
    const url = pathToFileURL(join(SIM, rel.replace(/\.js$/, '.ts'))).href + '?copy';
    const ns = (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
    for (const [name, v] of Object.entries(ns)) if (typeof v === 'function') out[name] = v;
  }
  return out;
}

let copies: Record<string, unknown> = {};
/** The sets of functions replaced by their copies: all, then each split (see above). */
let splits: Array<{ readonly name: string; readonly fns: Record<string, unknown> }> = [];

/** The table functions the runs reached (recorded by the 'all' copies). */
const reached = new Set<string>();
const GeneratorFunction = Object.getPrototypeOf(function* () {}) as object;

/** f, recording that it was called: a wrapper that changes nothing else (no step of its own). */
function recording(name: string, f: unknown): unknown {
  const fn = f as (...a: unknown[]) => unknown;
  if (Object.getPrototypeOf(fn) === GeneratorFunction) {
    return function* (this: unknown, ...a: unknown[]) {
      reached.add(name);
      return yield* (fn.apply(this, a) as Generator<unknown, unknown, unknown>);
    };
  }
  return function (this: unknown, ...a: unknown[]) {
    reached.add(name);
    return fn.apply(this, a);
  };
}

function makeSplits(): typeof splits {
  const names = Object.keys(copies).sort();
  const all: Record<string, unknown> = {};
  for (const n of names) all[n] = recording(n, copies[n]);
  const out = [{ name: 'all', fns: all }];
  for (let j = 0; 1 << j < names.length; j++) {
    const fns: Record<string, unknown> = {};
    names.forEach((n, i) => {
      if ((i >> j) & 1) fns[n] = copies[n];
    });
    out.push({ name: `split ${j}`, fns });
  }
  return out;
}

/** The variant `v` with the functions of `fns` replaced by their copies (v's own overrides kept on top). */
function withCopies(v: Variant, fns: Record<string, unknown>): Variant {
  return defineVariant({
    name: `${v.name}+copies`,
    base: v.base,
    description: 'kernel functions replaced by faithful copies',
    overrides: { ...fns, ...(v.overrides ?? {}) } as Partial<KernelFns>,
    ...(v.config ? { config: v.config } : {}),
  });
}

/** An object's own fields, shallow: a nested object by its name (kernel objects are named by allocation order). */
function shallow(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const flat = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return typeof v === 'function' ? 'fn' : v;
    if (Array.isArray(v)) return v.map(flat);
    const name = (v as { name?: unknown }).name;
    return typeof name === 'string' ? name : 'object';
  };
  for (const [key, v] of Object.entries(o)) out[key] = flat(v);
  return out;
}

/**
 * The kernel's state at the end of the run, by name: every process's mm, VMAs and page tables
 * (each entry with its folio and the page's data). Names come from allocation order, so a copy
 * that allocates, frees or names differently shows here even when the verdict is the same.
 */
function finalState(kernel: Kernel): unknown {
  return [...kernel.procs.values()].map((p) => {
    const mm = p.mm;
    if (!mm) return { pid: p.pid, exited: p.exited };
    return {
      pid: p.pid, exited: p.exited, mm: shallow(mm),
      vmas: mm.mm_mt.ma_root.slots.map(shallow),
      pgd: [...mm.pgd.values()].map((pmd) => {
        const table = (pmd as { table?: { entries: readonly object[] } | null }).table;
        return {
          ...shallow(pmd),
          ptes: table ? table.entries.flatMap((e, i) => ((e as { kind: string }).kind === 'none' ? [] : [{ i, ...shallow(e), data: (e as { folio?: { data: number } }).folio?.data }])) : null,
        };
      }),
    };
  });
}

/** What must be identical between the base and the copies. */
function outcome(r: RunReport) {
  return {
    final: finalState(k),
    status: r.status,
    property: r.violation?.property ?? null,
    message: r.violation?.message ?? null,
    step: r.violation?.step ?? null,
    error: r.error?.split('\n')[0] ?? null,
    schedule: r.schedule,
    steps: r.steps,
    preemptions: r.preemptions,
    history: r.history,
    stats: r.stats,
  };
}

/** Run on the base, then on every set of copies: each must equal the base. Returns the base outcome. */
function sameEverywhere(v: Variant, scenario: ScenarioSpec, sched: () => Scheduler | string, what: string, sets: typeof splits = splits) {
  const run = (variant: Variant) => {
    const s = sched();
    return outcome(typeof s === 'string'
      ? runScenario({ variant, scenario, schedule: s })
      : runScenario({ variant, scenario, scheduler: s }));
  };
  const base = run(v);
  for (const sp of sets) expect(run(withCopies(v, sp.fns)), `${what}, copies: ${sp.name}`).toEqual(base);
  return base;
}

beforeAll(async () => {
  copies = await copiedFunctions();
  splits = makeSplits();
});

describe('override identity: faithful copies of every kernel function', () => {
  it('the copies cover every function of the table, each a distinct function object', () => {
    const base = baseTable() as unknown as Record<string, unknown>;
    const names = Object.keys(copies).sort();
    expect(names).toEqual([...FUNCTION_HOME.keys()].sort());
    expect(names.length).toBe(FUNCTION_HOME.size);
    expect(names.length).toBeGreaterThan(400);
    for (const n of names) expect(copies[n], n).not.toBe(base[n]);
    // Every pair of functions is split apart by some split.
    expect(splits.length).toBe(1 + Math.ceil(Math.log2(names.length)));
  });

  let generationsRun = 0;
  for (const gen of GENERATIONS) {
    it(`${gen.name}: every family, same verdicts, schedules and step counts`, () => {
      generationsRun++;
      const v = resolveVariant(gen.name);
      let runs = 0;
      for (const fam of FAMILIES.values()) {
        for (let seed = 1; seed <= SEEDS; seed++) {
          const scenario = fam.generate(mixSeed(seed, 0));
          sameEverywhere(v, scenario, () => new RandomScheduler(mixSeed(seed, 1)), `${fam.name} seed ${seed} (random)`);
          sameEverywhere(v, scenario, () => new PctScheduler(mixSeed(seed, 2), 3, 200), `${fam.name} seed ${seed} (PCT)`);
          // Fault injection: the -ENOMEM paths (allocation failures the scheduler chooses).
          const fi = { ...scenario, faultInjection: true };
          sameEverywhere(v, fi, () => new RandomScheduler(mixSeed(seed, 3)), `${fam.name} seed ${seed} (fault injection)`);
          runs += 3;
        }
      }
      expect(runs).toBe(FAMILIES.size * SEEDS * 3);
      // More general workloads: the copies of all functions and one split each (in turn).
      const general = FAMILIES.get('random')!;
      for (let seed = SEEDS + 1; seed <= SEEDS + GENERAL_SEEDS; seed++) {
        const scenario = general.generate(mixSeed(seed, 0));
        const sets = [splits[0]!, splits[1 + (seed % (splits.length - 1))]!];
        const fi = seed % 2 === 1 ? { ...scenario, faultInjection: true } : scenario;
        sameEverywhere(v, fi, () => new RandomScheduler(mixSeed(seed, 1)), `random seed ${seed}${fi === scenario ? '' : ' (fault injection)'}`, sets);
      }
    });
  }

  // The configurations no generation is: the proposals, and v6.15 with the flags no generation
  // sets (6.17's /proc/pid/maps and MADV_DONTNEED under per-VMA locks, the driver opt-in).
  let configsRun = false;
  it('the proposals and the flags no generation sets: every family, same verdicts', () => {
    configsRun = true;
    const flags = defineVariant({
      name: 'v6.15+flags', base: 'v6.15', description: 'the configuration flags no generation sets',
      config: { maps_under_vma_lock: true, madvise_dontneed_vma_lock: true, driver_fault_opt_in: true },
    });
    const variants = [...CONFIGURATIONS.filter((c) => c.kind === 'proposal').map((c) => resolveVariant(c.name)), flags];
    expect(variants.length).toBeGreaterThan(1);
    const general = FAMILIES.get('random')!;
    for (const v of variants) {
      for (const fam of FAMILIES.values()) {
        sameEverywhere(v, fam.generate(mixSeed(1, 0)), () => new RandomScheduler(mixSeed(1, 1)), `${v.name}: ${fam.name} (random)`);
      }
      for (let seed = 2; seed <= 1 + GENERAL_SEEDS / 4; seed++) {
        const sets = [splits[0]!, splits[1 + (seed % (splits.length - 1))]!];
        sameEverywhere(v, general.generate(mixSeed(seed, 0)), () => new RandomScheduler(mixSeed(seed, 1)), `${v.name}: random seed ${seed}`, sets);
      }
    }
  });

  // Workloads for paths no family and few general workloads take (written for the functions they
  // reach, not for a bug; each against every split, on every generation that has the path).
  let targetedRun = false;
  it('targeted workloads: UFFDIO_MOVE of present and swapped pages, a write fault under uffd-wp, a page evicted at setup', () => {
    targetedRun = true;
    const move = (src: number, dst: number): ModelOp => ({ op: 'uffdio_move', pid: 1, src: page(src), dst: page(dst) });
    const workloads: Array<{ gens: readonly string[]; scenario: ScenarioSpec }> = [
      {
        // move_pages_pte → move_present_pte (page 0) and move_swap_pte (page 1, swapped out).
        gens: ['v6.6', 'v6.15'],
        scenario: {
          name: 'targeted#uffdio-move', family: 'targeted', swapSlots: 4,
          processes: [{ pid: 1, setup: [anon(1, 0, 4), store(1, 0, 7), store(1, 1, 8), uffdRegister(1, 0, 4)] }],
          kernelSetup: [{ do: 'swap_out', pid: 1, addr: page(1) }],
          threads: [
            { name: 'mover', pid: 1, program: [move(0, 2), move(1, 3), load(1, 2)] },
            { name: 'reader', pid: 1, program: [load(1, 3)] },
          ],
          daemons: [{ kind: 'uffd_handler', pid: 1, count: 2, value: 5 }],
        },
      },
      {
        // do_wp_page on the zero page of a VMA registered for write-protect faults (userfaultfd_pte_wp).
        gens: GENERATIONS.map((g) => g.name),
        scenario: {
          name: 'targeted#uffd-wp-write', family: 'targeted',
          processes: [{ pid: 1, setup: [anon(1, 0, 2), load(1, 0), { op: 'uffd_register', pid: 1, addr: page(0), len: 2 * PAGE, mode: 'wp' }] }],
          threads: [{ name: 'writer', pid: 1, program: [store(1, 0, 3)] }, { name: 'reader', pid: 1, program: [load(1, 0)] }],
        },
      },
      {
        // sim_setup_evict: a file page read into the cache, then evicted before the threads run.
        gens: ['v6.6', 'v6.15'],
        scenario: {
          name: 'targeted#evict', family: 'targeted', files: [{ name: FILE, pages: filePages(2) }],
          processes: [{ pid: 1, setup: [fileMap(1, 0, 2, FILE, 0, true, RW)] }],
          kernelSetup: [{ do: 'cache', file: FILE, page: 0 }, { do: 'evict', file: FILE, page: 0 }],
          threads: [{ name: 'a', pid: 1, program: [load(1, 0), store(1, 1, 4)] }, { name: 'b', pid: 1, program: [load(1, 1)] }],
        },
      },
    ];
    for (const { gens, scenario } of workloads) {
      for (const gen of gens) {
        const v = resolveVariant(gen);
        for (let seed = 1; seed <= (DEEP ? 8 : 2); seed++) {
          sameEverywhere(v, scenario, () => new RandomScheduler(mixSeed(seed, 1)), `${gen}: ${scenario.name} seed ${seed}`);
        }
      }
    }
  });

  // A mutant's own functions on top of the copies: the paths only a reverted fix takes.
  let mutantsRun = false;
  it('every zoo mutant on its family: the same verdicts with the copies beneath it', () => {
    mutantsRun = true;
    expect(MUTANTS.length).toBeGreaterThan(10);
    for (const m of MUTANTS) {
      const fam = FAMILIES.get(m.scenario ?? 'random')!;
      const scenario = fam.generate(mixSeed(1, 0));
      sameEverywhere(m, scenario, () => new RandomScheduler(mixSeed(1, 1)), `${m.name} on ${fam.name} (random)`);
      sameEverywhere(m, scenario, () => new PctScheduler(mixSeed(1, 2), 3, 200), `${m.name} on ${fam.name} (PCT)`);
    }
  });

  // The case that started this (issue #10): a variant that overrides vma_start_read alone with a
  // faithful copy counted the copy's transient reference as a read lock (vma-lock-exclusion).
  for (const gen of ['v6.6', 'v6.15']) {
    it(`${gen}: vma_start_read alone, copied, changes nothing`, () => {
      const v = resolveVariant(gen);
      const only = defineVariant({
        name: `${gen}+vma_start_read`, base: gen, description: 'vma_start_read replaced by a faithful copy',
        overrides: { vma_start_read: copies['vma_start_read'] } as Partial<KernelFns>,
      });
      expect(only.table().vma_start_read).not.toBe(baseTable().vma_start_read);
      // Before the fix, each of these campaigns stopped within 50 executions on v6.6 (e.g.
      // mprotect-vs-fault at execution 24, schedule v1:16t2.27t1: "vma#2 is write-locked while 1
      // reader(s) hold its VMA lock"), and at once on v6.15 (a lockdep splat: the copy acquired a
      // lockdep map of its own).
      for (const family of ['random', 'mprotect-vs-fault', 'first-touch-vs-unmap', 'unmap-during-io']) {
        const campaign = (variant: Variant) => {
          const r = runCampaign({ variant, family, strategy: 'portfolio', runs: 60, seed: 1, stopAtFirst: true, shrink: false });
          return { executions: r.executions, unknown: r.unknown, violations: r.violations.map((x) => [x.property, x.message, x.report.schedule]) };
        };
        const base = campaign(v);
        expect(base.violations, family).toEqual([]);
        expect(campaign(only), family).toEqual(base);
      }
    });
  }

  const REG = join(ROOT, 'test', 'regressions');
  const kept = readdirSync(REG).filter((f) => f.endsWith('.json')).sort();
  let keptRun = false;
  it('every kept counterexample replays to the same verdict with the copies', () => {
    keptRun = true;
    expect(kept.length).toBeGreaterThan(10);
    for (const f of kept) {
      const cx = JSON.parse(readFileSync(join(REG, f), 'utf8')) as { config: string; mutant?: string; scenario: ScenarioSpec; schedule: string; expected?: 'pass'; violation: { property: string } };
      const v = resolveVariant(cx.mutant ?? cx.config);
      const base = sameEverywhere(v, cx.scenario, () => cx.schedule, f);
      expect(base.status, f).toBe(cx.expected === 'pass' ? 'pass' : 'violation');
    }
  });

  it('the account reads impl/ by top-level blocks: a function by its name, other statements as the module', () => {
    const src = [
      "import { k } from './kernel.js';",
      'export function* a(): Task<void> {',
      '  yield* k.fn.b(); // k.fn.c() in a comment is no call',
      ' * k.fn.e() in a doc comment',
      '}',
      'function helper(): number { return k.fn.d(); }',
      'export const ops = { fault: helper };',
    ].join('\n');
    const blocks = topLevelBlocks(src);
    expect(blocks.map((b) => b.name)).toEqual(['<module>', '<module>', 'a', 'helper', '<module>']);
    expect([...tableReferences([blocks[2]!.text]).names]).toEqual(['b']);
    expect([...tableReferences([blocks[3]!.text]).names]).toEqual(['d']);
    expect(blocks[4]!.text).toContain('helper');
  });

  // What the runs above cover: a copy that is never called cannot disagree, so every function is
  // accounted for — reached, or unreached with why.
  it('every function of the table: reached (its copy ran and agreed), or unreached with why', (ctx) => {
    if (generationsRun < GENERATIONS.length || !mutantsRun || !configsRun || !keptRun || !targetedRun) ctx.skip(); // run with a filter: nothing to measure
    const names = Object.keys(copies).sort();
    const why = unreachedAccount(names);
    const byKind = new Map<string, string[]>();
    for (const [n, w] of why) byKind.set(w.kind, [...(byKind.get(w.kind) ?? []), w.detail ? `${n} (${w.detail})` : n]);
    const called = names.filter((n) => why.get(n)?.kind !== 'class' && why.get(n)?.kind !== 'no caller');
    const reachedCalled = called.filter((n) => reached.has(n)).length;
    const stale = Object.keys(UNREACHED_WHY).filter((n) => reached.has(n) || !(n in copies));
    console.log([
      `override identity: ${reached.size} of ${names.length} table functions reached (${reachedCalled} of the ${called.length} impl/ calls, ${Math.round((100 * reachedCalled) / called.length)}%)`,
      ...[...byKind].map(([kind, ns]) => `  unreached, ${kind} (${ns.length}): ${ns.join(', ')}`),
      ...(stale.length ? [`  UNREACHED_WHY entries the runs reached or the table no longer has (stale): ${stale.join(' ')}`] : []),
    ].join('\n'));
    for (const n of names) if (reached.has(n)) expect(why.has(n), n).toBe(false);
    expect(reached.size + why.size).toBe(names.length);
    expect(reachedCalled / called.length).toBeGreaterThan(MIN_REACHED);
    if (DEEP) expect(byKind.get('unexplained') ?? []).toEqual([]);
  });
});

type Why = { kind: 'class' | 'no caller' | 'only unreached callers' | 'reason' | 'unexplained'; detail?: string };

/**
 * Why each table function the runs did not reach was not reached. Static, from impl/'s sources
 * (impl/bugs aside), over top-level blocks (a top-level function, by its name; any other top-level
 * statement, '<module>': an entry point). A table function's callers are the blocks that name it
 * through the table (`fn.name`), by name (`'sim_x'`) or by a dispatch prefix (`sim_sys_${op}`); a
 * file's own helper's callers, the blocks that name the helper. A caller is unreached if it is a
 * table function no run reached, or a helper whose callers are all unreached.
 */
function unreachedAccount(names: readonly string[]): Map<string, Why> {
  const classes = new Set(tableEntries().notCounted.filter((e) => /class/.test(e.why)).map((e) => e.name));
  const sources = implSources();
  const { prefixes } = tableReferences(sources);
  const blocks = sources.flatMap((src, file) => topLevelBlocks(src).map((b) => ({ ...b, file })));
  const callers = new Map<string, Set<string>>();
  for (const block of blocks) {
    const { names: refs } = tableReferences([block.text]);
    for (const r of refs) if (r !== block.name) callers.set(r, (callers.get(r) ?? new Set()).add(block.name));
  }
  // A helper named (not a label of that name: `break out_unlock`), in its own file unless exported.
  const helperCallers = (name: string): Set<string> => {
    const defs = blocks.filter((b) => b.name === name);
    const files = defs.some((d) => d.exported) ? null : new Set(defs.map((d) => d.file));
    const re = new RegExp(`(?<![.\\w'"\`$])${name.replace(/\$/g, '\\$')}\\b`);
    return new Set(blocks.filter((b) => b.name !== name && (files === null || files.has(b.file)) && re.test(unlabelled(b.text))).map((b) => b.name));
  };
  const memo = new Map<string, boolean>();
  const unreachedBlock = (name: string): boolean => {
    if (FUNCTION_HOME.has(name)) return !reached.has(name);
    if (name === '<module>') return false;
    const known = memo.get(name);
    if (known !== undefined) return known;
    memo.set(name, false); // a cycle of helpers: reached until shown otherwise
    const by = helperCallers(name);
    const r = [...by].every(unreachedBlock); // no caller at all: dead code
    memo.set(name, r);
    return r;
  };
  const out = new Map<string, Why>();
  for (const n of names) {
    if (reached.has(n)) continue;
    const by = callers.get(n);
    if (classes.has(n)) out.set(n, { kind: 'class' });
    else if (UNREACHED_WHY[n]) out.set(n, { kind: 'reason', detail: UNREACHED_WHY[n] });
    else if (prefixes.some((p) => n.startsWith(p))) out.set(n, { kind: 'unexplained', detail: 'dispatched by name' });
    else if (!by || by.size === 0) out.set(n, { kind: 'no caller' });
    else if ([...by].every(unreachedBlock)) out.set(n, { kind: 'only unreached callers', detail: [...by].sort().join(' ') });
    else out.set(n, { kind: 'unexplained' });
  }
  return out;
}

function implSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (e.name !== 'bugs') walk(join(dir, e.name));
      } else if (e.name.endsWith('.ts')) out.push(readFileSync(join(dir, e.name), 'utf8'));
    }
  };
  walk(join(ROOT, 'impl'));
  return out;
}

/** Source without statement labels (`out: {`, `break out`, `continue retry`). */
function unlabelled(text: string): string {
  return text.replace(/^(\s*)\w+:(?!:)(?=\s*(\{|for\b|while\b|do\b|$))/gm, '$1').replace(/\b(break|continue)\s+\w+/g, '$1');
}

/** A module's top-level blocks: each function declaration by its name, anything else as '<module>'. */
function topLevelBlocks(src: string): Array<{ name: string; exported: boolean; text: string }> {
  const blocks: Array<{ name: string; exported: boolean; text: string[] }> = [{ name: '<module>', exported: false, text: [] }];
  for (const line of src.split('\n')) {
    const f = /^(export\s+)?(?:async\s+)?function\*?\s*(\w+)/.exec(line);
    if (f) blocks.push({ name: f[2]!, exported: !!f[1], text: [] });
    else if (/^[A-Za-z_$]/.test(line)) blocks.push({ name: '<module>', exported: false, text: [] });
    // Comments are not calls.
    if (!/^\s*(\*|\/\/|\/\*)/.test(line)) blocks.at(-1)!.text.push(line.replace(/\/\/.*$/, ''));
  }
  return blocks.map((b) => ({ name: b.name, exported: b.exported, text: b.text.join('\n') }));
}
