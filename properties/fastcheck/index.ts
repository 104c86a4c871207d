/**
 * faultline as a fast-check library: `import { … } from 'faultline'`.
 *
 * - Arbitraries: `workload()` (the general generator: processes, threads, programs, layouts,
 *   daemons, fault injection), `family(name)` (a directed scenario family), `layouts()`,
 *   `program()` (one thread's operations over a layout) with `scenarioOf(layout, programs)`,
 *   and schedules: `schedules()` (check's portfolio), `pctSchedules`, `randomSchedules`,
 *   `switchSchedules` (explicit, shrinkable switch lists).
 * - Properties: `mmProperty({ variant, workload?, schedule? })` for `fc.assert`, and its predicate
 *   `checkRun(variant)` for `fc.property` / `test.prop` of @fast-check/vitest. A failure throws a
 *   FaultlineViolation: the kernel-style report after faultline's schedule shrinker, and the path
 *   of the counterexample file (`npx faultline replay FILE`).
 * - Model-based commands: `sequential({ variant })` → `commands` for `fc.commands` and `setup`
 *   for `fc.modelRun`; `concurrent({ variant })` → `programs()` (one command list per thread) and
 *   `setup` for `scheduledModelRun(schedule, setup, programs)`: the threads against one simulated
 *   mm, interleaved under a schedule arbitrary, judged by every invariant and linearizability.
 * - Variants: `defineVariant` and the kernel function table `k` for a locking idea of your own;
 *   configuration and mutant names (`configurations`, `mutants`).
 */
export { workload, family, layouts, program, scenarioOf, resolveContext, DEFAULT_LAYOUT, PROGRAM_OPS } from './arbitraries.js';
export type { WorkloadOptions, LayoutDraw, RegionDraw, ProgramOptions } from './arbitraries.js';
export { schedules, pctSchedules, randomSchedules, switchSchedules, schedulerOf, SetupRelativePct } from './schedule.js';
export type { Schedule, StrategyChoice, PctOptions } from './schedule.js';
export { mmProperty, checkRun, FaultlineViolation, FaultlineRunError, SCHEDULES_PER_WORKLOAD } from './property.js';
export type { CheckOptions, PropertyOptions, FinishedViolation } from './property.js';
export { sequential, MmCommand, ModelMismatch, SEQUENTIAL_OPS } from './commands.js';
export type { MmModel, MmReal, Sequential, SequentialOptions } from './commands.js';
export { concurrent, scheduledModelRun, concurrentScenario } from './concurrent.js';
export type { Concurrent, ConcurrentOptions, ProgramsOptions } from './concurrent.js';
export { toVariant } from './variant.js';
export type { VariantLike, ResolvedVariant } from './variant.js';
export { defineVariant, VariantError } from '../../impl/sim/variant.js';
export type { Variant, VariantSpec } from '../../impl/sim/variant.js';
export { k } from '../../impl/sim/kernel.js';
export type { ScenarioSpec, DaemonSpec, SetupAction } from '../../impl/sim/scenario.js';
export type { ModelOp, ModelResult } from '../../model/ops.js';
export { describeOp, describeResult, describeCall } from '../../model/ops.js';
export type { RunReport } from '../api.js';
export { runScenario } from '../runner.js';

import { CONFIGURATIONS } from '../configs.js';
import { MUTANTS } from '../../impl/bugs/index.js';
import { FAMILIES } from '../scenarios/index.js';

/** Configuration names: the generations and the article's proposals. */
export const configurations: readonly string[] = CONFIGURATIONS.map((c) => c.name);
/** The zoo's mutants by name. */
export const mutants: readonly string[] = MUTANTS.map((m) => m.name);
/** The scenario families by name (for `family`). */
export const families: readonly string[] = [...FAMILIES.keys()];
