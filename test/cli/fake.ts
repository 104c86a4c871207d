/**
 * A fake checker for the CLI tests: a small scenario family, one mutant, and a runner whose
 * violation reproduces exactly when the variant is the mutant and the schedule is the one the
 * campaign "found". Variant files go through the real loader (properties/campaign.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineVariant, type Variant } from '../../impl/sim/variant.js';
import { decodeSchedule } from '../../impl/rt/schedule.js';
import type { TraceEvent } from '../../impl/rt/trace.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { CampaignResult, CampaignSpec, RunReport } from '../../properties/api.js';
import type { Backend, ExploreResult, ExploreSpec, FamilyInfo, RunScenarioOptions } from '../../cli/backend.js';
import { defaultBackend } from '../../cli/backend.js';
import { main } from '../../cli/main.js';

export const FOUND_SCHEDULE = 'v1:5t2.9t1';

export function scenarioOf(family: string, seed: number): ScenarioSpec {
  const RW = { read: true, write: true, exec: false };
  return {
    name: `${family}#${seed}`,
    family,
    processes: [{ pid: 1, setup: [{ op: 'mmap', pid: 1, addr: 0x10000000, len: 8192, prot: RW, flags: { shared: false, anonymous: true, fixed: true, growsdown: false } }] }],
    threads: [
      { name: 'T0', pid: 1, program: [{ op: 'store', pid: 1, addr: 0x10000000, value: 7 }, { op: 'load', pid: 1, addr: 0x10000000 }] },
      { name: 'T1', pid: 1, program: [{ op: 'munmap', pid: 1, addr: 0x10000000, len: 8192 }] },
    ],
    daemons: [{ kind: 'reclaim', rounds: 1, targets: [{ pid: 1, addr: 0x10000000 }] }],
  };
}

export const FAMILIES: ReadonlyMap<string, FamilyInfo> = new Map([
  ['fam-a', { name: 'fam-a', description: 'the first fake family. More words.', generate: (s: number) => scenarioOf('fam-a', s) }],
  ['fam-b', { name: 'fam-b', description: 'the second fake family', generate: (s: number) => scenarioOf('fam-b', s) }],
]);

export const MUTANT = defineVariant({
  name: 'm-uaf', base: 'v6.4', description: 'reverts the fake fix; a use-after-free', reverts: 'deadbeef1234', scenario: 'fam-b',
});

const TASKS = ['setup', 'T0', 'T1', 'reclaim'];

/** A traced violating run (a KASAN report at step 9 in T1). */
export function violatingReport(schedule = FOUND_SCHEDULE, trace = true): RunReport {
  const ev = (step: number, task: number, label: string, obj = '', held = '', blocked = false): TraceEvent => ({ step, task, label, obj, held, blocked });
  const events: TraceEvent[] = [
    ev(0, 0, 'start'), ev(1, 0, 'sim_kernel_init'), ev(2, 0, 'mmap_write_lock', 'mm(1)'), ev(3, 0, 'mmap_write_unlock', 'mm(1)', 'mm(1)->mmap_lock'),
    ev(4, 1, 'start'), ev(5, 2, 'start'),
    ev(6, 2, 'mmap_write_lock', 'mm(1)'),
    ev(7, 1, 'lock_vma_under_rcu', 'vma#3', '', false),
    ev(8, 2, 'vma_start_write', 'vma#3', 'mm(1)->mmap_lock'),
    ev(9, 1, 'do_anonymous_page:set_pte_at_with_a_very_long_label_that_needs_truncation', 'pte_table#1', 'vma#3->vm_lock(R) rcu', true),
  ];
  return {
    status: 'violation',
    violation: {
      property: 'kasan', message: 'use-after-free in do_anonymous_page', step: 9, task: 1, taskName: 'T0', label: 'do_anonymous_page:set_pte_at',
      report: ['==================================================================', 'BUG: KASAN: slab-use-after-free in do_anonymous_page', 'Read of size 8 by task T0/1'],
    },
    schedule,
    steps: 10,
    preemptions: 2,
    taskNames: TASKS,
    threads: [1, 2],
    ...(trace ? { trace: events } : {}),
    history: [
      { task: 1, op: { op: 'store', pid: 1, addr: 0x10000000, value: 7 }, invoke: 4, response: 9, result: { kind: 'ok' } },
      { task: 2, op: { op: 'munmap', pid: 1, addr: 0x10000000, len: 8192 }, invoke: 5, response: 8, result: { kind: 'ok' } },
    ],
    stats: { vma_lock: { VMA_LOCK_SUCCESS: 1, VMA_LOCK_ABORT: 0, VMA_LOCK_RETRY: 0, VMA_LOCK_MISS: 0 }, mmap_lock_faults: 0, vma_lock_faults: 1, fault_retries: 0 },
  };
}

export function passingReport(schedule: string): RunReport {
  const v = violatingReport(schedule);
  return { ...v, status: 'pass', violation: undefined, preemptions: 0 };
}

export interface FakeBackend extends Backend {
  readonly campaigns: CampaignSpec[];
  readonly explores: ExploreSpec[];
}

/** `buggy(variant)`: does the variant have the fake bug (default: it is the mutant). */
export function fakeBackend(buggy: (v: Variant) => boolean = (v) => v.name === MUTANT.name): FakeBackend {
  const campaigns: CampaignSpec[] = [];
  const explores: ExploreSpec[] = [];
  return {
    campaigns,
    explores,
    async explore(spec: ExploreSpec): Promise<ExploreResult> {
      explores.push(spec);
      const n = Math.min(spec.maxExecutions, 12);
      for (let i = 1; i <= n; i++) spec.onProgress?.(i);
      const violations = buggy(spec.variant)
        ? [{ property: 'kasan', message: 'use-after-free in do_anonymous_page', executionsToFind: 5, report: violatingReport(), scenario: spec.scenario, tasks: 3 }]
        : [];
      return { executions: n, elapsedMs: 2, complete: n < spec.maxExecutions, unknown: 0, violations };
    },
    async families() { return FAMILIES; },
    async properties() {
      return [
        { name: 'kasan', kind: 'builtin', description: 'use-after-free', kernelRef: 'mm/kasan' },
        { name: 'lockdep', kind: 'builtin', description: 'lock order', kernelRef: 'kernel/locking/lockdep.c' },
      ];
    },
    async mutants() { return [MUTANT]; },
    async runScenario(opts: RunScenarioOptions): Promise<RunReport> {
      const decisions = decodeSchedule(opts.schedule ?? 'v1:');
      if (decisions.some((d) => d.kind === 't' && d.value >= TASKS.length)) {
        return { ...passingReport(opts.schedule!), status: 'bad-schedule', error: `schedule asks for task ${decisions.find((d) => d.value >= TASKS.length)!.value}, which does not exist` };
      }
      if (opts.schedule === FOUND_SCHEDULE && buggy(opts.variant)) return violatingReport(opts.schedule, opts.trace ?? false);
      return passingReport(opts.schedule ?? 'v1:');
    },
    async runCampaign(spec: CampaignSpec): Promise<CampaignResult> {
      campaigns.push(spec);
      const runs = Math.min(spec.runs, 50);
      for (let i = 1; i <= runs; i++) spec.onProgress?.(i);
      if (buggy(spec.variant)) {
        return {
          executions: 17, elapsedMs: 5, unknown: 0, complete: spec.strategy === 'dfs' ? true : undefined,
          violations: [{ property: 'kasan', message: 'use-after-free in do_anonymous_page', executionsToFind: 17, report: violatingReport(), scenario: scenarioOf(spec.family, spec.seed), tasks: 2 }],
        };
      }
      return { executions: runs, elapsedMs: 3, unknown: 0, violations: [], ...(spec.strategy === 'dfs' ? { complete: true } : {}) };
    },
    loadVariantFile: (path) => defaultBackend.loadVariantFile(path),
  };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'faultline-cli-'));
}

export function writeTemp(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export interface Ran {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Run the CLI in-process. */
export async function run(argv: readonly string[], opts: { cwd: string; backend?: Backend }): Promise<Ran> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (s) => void (out += s), stderr: (s) => void (err += s), cwd: opts.cwd, backend: opts.backend ?? fakeBackend() });
  return { code, out, err };
}
