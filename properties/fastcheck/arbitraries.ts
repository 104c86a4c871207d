/**
 * The public arbitraries: the general workload (properties/arbitraries/workload.ts: processes,
 * threads, programs, layouts, daemons, fault injection), a directed scenario family as an
 * arbitrary, a layout, and one thread's program of mm operations over a layout — with
 * `scenarioOf` putting programs of your own into a scenario over that layout.
 */
import fc from 'fast-check';
import type { DaemonSpec, ScenarioSpec } from '../../impl/sim/scenario.js';
import type { ModelOp } from '../../model/ops.js';
import { buildWorkload, workloadArb, type WorkloadDraw, type WorkloadOptions } from '../arbitraries/workload.js';
import { DATA_FILES, DEVICE_PAGES, DEVICES, layoutArb, place, type LayoutDraw, type RegionDraw } from '../arbitraries/layout.js';
import { OP_TABLE, opArb, resolveOp, type AnyOpKind, type ResolveCtx } from '../arbitraries/ops.js';
import { familyOrThrow } from '../campaign.js';

export type { WorkloadOptions, LayoutDraw, RegionDraw };

/** The general generator: whole scenarios drawn from everything the model knows. */
export function workload(opts: WorkloadOptions = {}): fc.Arbitrary<ScenarioSpec> {
  return workloadArb(opts);
}

/**
 * A directed scenario family (`faultline list scenarios`, options as `NAME:OPTION=VALUE`) as an
 * arbitrary: its scenario for a drawn seed. The seed does not shrink (a family's scenarios are
 * small already; shrinking is the schedule shrinker's).
 */
export function family(name: string): fc.Arbitrary<ScenarioSpec> {
  const f = familyOrThrow(name);
  return fc.noShrink(fc.integer({ min: 0, max: 0xffffffff })).map((seed) => f.generate(seed));
}

/** Layouts of the general generator: 1–4 regions with the kernel's corner cases. */
export function layouts(): fc.Arbitrary<LayoutDraw> {
  return layoutArb;
}

const region = (r: Partial<RegionDraw> & Pick<RegionDraw, 'kind' | 'pages'>): RegionDraw => ({
  place: 'adjacent', gap: 1, prot: 'rw', shared: false, file: 0, offset: 0, populated: 0, swapped: 0, cached: 0, policy: null, uffd: false, ...r,
});

/**
 * A small fixed layout: 4 pages of private anonymous memory (the first two written at the start),
 * then, after a one-page gap, 4 pages of data0.bin mapped private (its first page in the page
 * cache), and data1.bin of 2 pages for pread/pwrite.
 */
export const DEFAULT_LAYOUT: LayoutDraw = {
  regions: [
    region({ kind: 'anon', pages: 4, populated: 0b0011 }),
    region({ kind: 'file', pages: 4, place: 'gap', gap: 1, file: 0, cached: 0b0001 }),
  ],
  fileSizes: [4, 2],
};

export interface ProgramOptions {
  /** The layout the operations land in (default DEFAULT_LAYOUT). */
  readonly layout?: LayoutDraw;
  /** The process running the program (default 1). */
  readonly pid?: number;
  /** Every process of the scenario (default [1]). */
  readonly pids?: readonly number[];
  readonly minLength?: number;
  /** Default 5. */
  readonly maxLength?: number;
  /** The operation table (default the general generator's, without exit). */
  readonly ops?: readonly AnyOpKind[];
}

/** The operation table without exit (a process's exit ends its other threads' address space). */
export const PROGRAM_OPS: readonly AnyOpKind[] = OP_TABLE.filter((k) => k.name !== 'exit');

/** What a layout's operations are resolved against. */
export function resolveContext(layout: LayoutDraw, pid = 1, pids: readonly number[] = [pid]): ResolveCtx {
  const { regions, end } = place(layout);
  return { regions, end, pid, pids, fileSizes: layout.fileSizes, focus: { r: 0, o: 0 } };
}

/** One thread's program: 1–5 operations of the table, landing in the layout's regions. */
export function program(opts: ProgramOptions = {}): fc.Arbitrary<ModelOp[]> {
  const table = opts.ops ?? PROGRAM_OPS;
  const ctx = resolveContext(opts.layout ?? DEFAULT_LAYOUT, opts.pid ?? 1, opts.pids ?? [opts.pid ?? 1]);
  return fc.array(opArb(table), { minLength: opts.minLength ?? 1, maxLength: opts.maxLength ?? 5 })
    .map((ds) => ds.map((d) => resolveOp(d, ctx, table)));
}

const NO_ROLL = 0;

/**
 * A scenario over `layout` (mapped by P1 in its setup, pages put in their drawn state) running
 * the given threads (all in P1 unless a thread says otherwise: pids must be 1 or processes listed
 * in `processes`). A userfaultfd monitor is added for every process that registers a range.
 */
export function scenarioOf(
  layout: LayoutDraw,
  threads: readonly (readonly ModelOp[] | { readonly name?: string; readonly pid?: number; readonly program: readonly ModelOp[] })[],
  name = 'custom',
): ScenarioSpec {
  const draw: WorkloadDraw = {
    layout, procs: [], threads: [], reclaim: NO_ROLL, reclaimRounds: 1, swapoff: NO_ROLL, khugepaged: NO_ROLL, khugepagedRounds: 1,
    fi: NO_ROLL, uffdValue: 7, focus: { r: 0, o: 0 },
  };
  const base = buildWorkload(draw, { family: 'custom' }, name);
  const ts = threads.map((t, i) => {
    const spec = Array.isArray(t) ? { program: t as readonly ModelOp[] } : (t as { name?: string; pid?: number; program: readonly ModelOp[] });
    return { name: spec.name ?? `t${i}`, pid: spec.pid ?? 1, program: [...spec.program] };
  });
  const ops = [...base.processes.flatMap((p) => p.setup), ...ts.flatMap((t) => t.program)];
  const used = new Set<string>();
  for (const o of ops) {
    if (o.op === 'mmap' && o.file !== undefined) used.add(o.file);
    if (o.op === 'pread' || o.op === 'pwrite') used.add(o.file);
  }
  const files = [
    ...DATA_FILES.map((f, i) => ({ name: f, pages: Array.from({ length: layout.fileSizes[i]! }, (_, j) => 100 + 10 * i + j) })),
    ...DEVICES.map((d, i) => ({ name: d, pages: Array.from({ length: DEVICE_PAGES }, (_, j) => 200 + 10 * i + j) })),
  ].filter((f) => used.has(f.name));
  const daemons: DaemonSpec[] = (base.daemons ?? []).filter((d) => d.kind !== 'uffd_handler');
  for (const p of base.processes) {
    if (ops.some((o) => o.op === 'uffd_register' && o.pid === p.pid)) daemons.push({ kind: 'uffd_handler', pid: p.pid, count: 64, value: draw.uffdValue });
  }
  const { files: _f, daemons: _d, ...rest } = base;
  return {
    ...rest,
    ...(files.length > 0 ? { files } : {}),
    threads: ts,
    ...(daemons.length > 0 ? { daemons } : {}),
  };
}
