/**
 * Coverage (properties/coverage.ts, coverage_labels.ts): the label scan finds every form of label
 * site, the collector records what a run reached and nothing it did not, recording does not change
 * the run, and every run-time label of the real campaigns is one the scan knows.
 */
import { describe, expect, it } from 'vitest';
import { RandomScheduler } from '../../impl/rt/schedulers/random.js';
import { baseTable, FUNCTION_HOME } from '../../impl/sim/table.js';
import { tableEntries, tableReferences } from '../../properties/coverage_table.js';

const COUNTED = tableEntries().counted.size;
import { defineVariant } from '../../impl/sim/variant.js';
import { resolveVariant, runCampaign } from '../../properties/campaign.js';
import { collectCoverage, CoverageCollector, coverageReport, mergeCoverage } from '../../properties/coverage.js';
import { labelCatalogue, scanLabelSites } from '../../properties/coverage_labels.js';
import { UNREACHED_REASONS } from '../../properties/coverage_reasons.js';
import { runScenario } from '../../properties/runner.js';
import { FAMILIES } from '../../properties/scenarios/index.js';
import { GENERATIONS } from '../../impl/sim/config.js';

describe('the label scan', () => {
  const SRC = `
    // yield 'in:a:comment';
    /* yield 'in:a:block:comment'; */
    const message = "yield 'in:a:string'";
    export function* f(vma) {
      yield 'f:plain';
      yield step('f:step', vma);
      yield block('f:block', () => true, vma);
      yield* waitUntil('f:wait', () => true);
      yield write ? 'f:store' : 'f:load';
      yield step(\`f:dyn:\${vma.name}\`, vma);
      op = block('f:cached', () => true);
    }
    const LABELS = ['lab_a', 'lab_b'];
    function* helper(mm, site, rootLabel) {
      yield step(rootLabel, mm);
    }
    function* g(mm) {
      yield* helper(mm, 'not:a:label', 'g:root');
      const x = yield* helper(mm, 'site', 'h:root');
    }
    function* step(label, obj) {}
  `;
  const sites = scanLabelSites([{ rel: 'impl/mm/x.ts', src: SRC }]);
  const labels = sites.map((s) => s.label).sort();
  it('finds every form of label site, with its place', () => {
    expect(labels).toEqual(['f:block', 'f:cached', 'f:dyn:*', 'f:load', 'f:plain', 'f:step', 'f:store', 'f:wait', 'g:root', 'h:root', 'lab_a', 'lab_b'].sort());
    expect(sites.find((s) => s.label === 'f:plain')!.at).toBe('impl/mm/x.ts:6');
    expect(sites.find((s) => s.label === 'f:dyn:*')!.dynamic).toBe(true);
  });
  it('ignores comments, strings elsewhere and non-label arguments', () => {
    expect(labels.filter((l) => l.startsWith('in:') || l === 'not:a:label' || l === 'site')).toEqual([]);
  });
  it('the catalogue of impl/ has the kernel labels and resolves run-time labels', () => {
    const cat = labelCatalogue();
    expect(cat.kernel.length).toBeGreaterThan(150);
    expect(cat.resolve('do_anonymous_page:set_pte_at')).toEqual({ label: 'do_anonymous_page:set_pte_at', counted: true });
    expect(cat.resolve('mas_walk:ma_root')?.counted).toBe(true); // through mas_start_walk's label parameter
    expect(cat.resolve('down_read')?.counted).toBe(true); // rwsem's LABELS
    expect(cat.resolve('user:load')).toEqual({ label: 'user:load', counted: false });
    expect(cat.resolve('no_such_function:label')).toBeNull();
  });
});

const v66 = resolveVariant('v6.6');
const BASE = baseTable();

describe('the collector', () => {
  const fork = FAMILIES.get('fork-vs-fault')!.generate(1);
  it('records the functions, labels and lock pairs a run reached, and not the others', () => {
    const { report, coverage } = collectCoverage({ variant: v66, scenario: fork, scheduler: new RandomScheduler(3) });
    expect(report.status).toBe('pass');
    expect(coverage.runs).toBe(1);
    expect(coverage.functions).toContain('dup_mmap');
    expect(coverage.functions).toContain('do_user_addr_fault');
    expect(coverage.functions).not.toContain('do_swap_page'); // no swap in this scenario
    expect(coverage.functions).not.toContain('sim_sys_uffdio_copy');
    expect(coverage.labels).toContain('dup_mm:allocate_mm');
    expect(coverage.labels.some((l) => l.startsWith('swap'))).toBe(false);
    expect(coverage.lockPairs).toContain('mmap_lock → vma_lock'); // dup_mmap write-locks the parent's VMAs
    for (const f of coverage.functions) expect(FUNCTION_HOME.has(f)).toBe(true);
  });
  it('a function called only after the first run is still recorded (the template keeps unseen wrappers)', () => {
    const cov = new CoverageCollector();
    let calls = 0;
    const v = defineVariant({
      name: 'counting', base: 'v6.6', description: 'counts dup_mmap calls',
      overrides: {
        dup_mmap: function* (mm, oldmm) {
          calls++;
          return yield* BASE.dup_mmap(mm, oldmm);
        },
      },
    });
    const noFork = FAMILIES.get('mprotect-vs-fault')!.generate(1);
    runScenario({ variant: v, scenario: noFork, scheduler: new RandomScheduler(1), coverage: cov });
    expect(cov.functions.has('dup_mmap')).toBe(false);
    runScenario({ variant: v, scenario: fork, scheduler: new RandomScheduler(1), coverage: cov });
    expect(calls).toBeGreaterThan(0);
    expect(cov.functions.has('dup_mmap')).toBe(true); // the override, recorded under its kernel name
    expect(cov.runs).toBe(2);
    // Once seen, later runs get the function itself again (no wrapper).
    const table = cov.wrap(v).table() as unknown as Record<string, unknown>;
    expect(table.dup_mmap).toBe((v.table() as unknown as Record<string, unknown>).dup_mmap);
    expect(table.do_swap_page).not.toBe((v.table() as unknown as Record<string, unknown>).do_swap_page);
  });
  it('recording does not change the run: same schedule, steps and verdict', () => {
    for (const fam of ['fork-vs-fault', 'unmap-during-io', 'swapin-vs-writer', 'uffd']) {
      const sc = FAMILIES.get(fam)!.generate(7);
      for (const seed of [1, 2, 3]) {
        const a = runScenario({ variant: v66, scenario: sc, scheduler: new RandomScheduler(seed) });
        const b = runScenario({ variant: v66, scenario: sc, scheduler: new RandomScheduler(seed), coverage: new CoverageCollector() });
        expect([b.status, b.schedule, b.steps]).toEqual([a.status, a.schedule, a.steps]);
      }
    }
  });
  it('merging is the union', () => {
    const a = { functions: ['f'], labels: ['x'], lockPairs: ['A → B'], runs: 1 };
    const b = { functions: ['g', 'f'], labels: [], lockPairs: ['B → C'], runs: 2 };
    expect(mergeCoverage([a, b])).toEqual({ functions: ['f', 'g'], labels: ['x'], lockPairs: ['A → B', 'B → C'], runs: 3 });
  });
  it('the report counts reached / total and lists the rest', () => {
    const r = coverageReport({ functions: ['dup_mmap', 'not_a_kernel_function'], labels: ['dup_mm:allocate_mm', 'start', 'exit', 'made:up'], lockPairs: ['mmap_lock → vma_lock'], runs: 1 });
    expect(r.functions).toMatchObject({ reached: 1, total: COUNTED });
    expect(r.functions.unreached).toHaveLength(COUNTED - 1);
    expect(r.labels.reached).toBe(1);
    expect(r.labels.unknown).toEqual(['made:up']);
    expect(r.lockPairs).toEqual({ reached: 1, pairs: ['mmap_lock → vma_lock'], classes: ['mmap_lock', 'vma_lock'] });
  });
});


describe('every run-time label is one the scan knows', () => {
  it.each(GENERATIONS.map((g) => g.name))('%s, every family', (gen) => {
    const cov = new CoverageCollector();
    for (const fam of FAMILIES.keys()) runCampaign({ variant: resolveVariant(gen), family: fam, strategy: 'portfolio', runs: 12, seed: 5, coverage: cov });
    expect(coverageReport(cov.toJSON()).labels.unknown).toEqual([]);
  });
});

describe('the kernel functions of the table', () => {
  it('classes and the simulation\'s accessors are not counted; everything else is', () => {
    const e = tableEntries();
    const nc = new Map(e.notCounted.map((x) => [x.name, x.why]));
    expect(nc.get('userfaultfd_wait_queue')).toMatch(/class/);
    expect(nc.get('sim_mt_entries')).toMatch(/accessor/);
    // Called by name or by a dispatch prefix: counted.
    for (const n of ['sim_kernel_init', 'sim_sys_mbind', 'sim_daemon_reclaim', 'sim_setup_swap_out', 'do_anonymous_page']) expect(e.counted.has(n), n).toBe(true);
    expect(e.counted.size + e.notCounted.length).toBe(FUNCTION_HOME.size);
  });
  it('references: through the table, by name, by a dispatch prefix', () => {
    const r = tableReferences(["yield* k.fn.do_fault(vmf); kfn(kernel, 'sim_kernel_init'); call(`sim_sys_${op.op}`, op);"]);
    expect([...r.names].sort()).toEqual(['do_fault', 'sim_kernel_init']);
    expect(r.prefixes).toEqual(['sim_sys_']);
  });
});

describe('the reasons for unreached entries', () => {
  it('every entry names a function of the table or a label of impl/', () => {
    const labels = new Set(labelCatalogue().kernel.map((s) => s.label));
    const stale = Object.keys(UNREACHED_REASONS).filter((key) => {
      const [kind, ...rest] = key.split(':');
      const name = rest.join(':');
      return kind === 'fn' ? !FUNCTION_HOME.has(name) : kind === 'label' ? !labels.has(name) : true;
    });
    expect(stale).toEqual([]);
  });
});
