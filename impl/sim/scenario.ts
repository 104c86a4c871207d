/**
 * Scenarios: the initial state (files, processes and their mappings, swapped-out pages), the user
 * threads' programs, and the kernel daemons that run beside them. Plain JSON, so a counterexample
 * file carries its scenario whole.
 *
 * The operations are the model's (model/ops.ts): impl takes their types only, as the shared
 * vocabulary of what user space can do; properties/ checks the results against model/.
 */
import type { ModelOp } from '../../model/ops.js';

/** Kernel-side preparation of the initial state, run before any user thread starts. */
export type SetupAction =
  /** Swap out the page at addr of pid (reclaim of one anonymous page through rmap). */
  | { readonly do: 'swap_out'; readonly pid: number; readonly addr: number }
  /** Drop one page of a file from the page cache (after unmapping it). */
  | { readonly do: 'evict'; readonly file: string; readonly page: number }
  /** Read one page of a file into the page cache (it is then uptodate). */
  | { readonly do: 'cache'; readonly file: string; readonly page: number };

/** How a simulated userfaultfd monitor treats a failed UFFDIO_COPY (see DaemonSpec 'uffd_handler'). */
export type UffdMonitor = 'defensive' | 'contract';
export const UFFD_MONITORS: readonly UffdMonitor[] = ['defensive', 'contract'];

export type DaemonSpec =
  /** kswapd-like reclaim: `rounds` passes, each reclaiming one page chosen by the scheduler among `targets`. */
  | { readonly kind: 'reclaim'; readonly rounds: number; readonly targets: readonly { readonly pid: number; readonly addr: number }[] }
  /**
   * The userfaultfd handler thread of `pid`: resolves `count` faults with UFFDIO_COPY of `value`.
   * `monitor` is how it treats a copy that failed: 'defensive' (the default) UFFDIO_WAKEs the page
   * after any failed copy; 'contract' relies on the documented UFFDIO_UNREGISTER contract and does
   * not UFFDIO_WAKE a page of a range its process has unregistered (the copy fails -ENOENT there).
   */
  | { readonly kind: 'uffd_handler'; readonly pid: number; readonly count: number; readonly value: number; readonly monitor?: UffdMonitor }
  /** khugepaged: `rounds` collapse attempts over the ranges. */
  | { readonly kind: 'khugepaged'; readonly rounds: number }
  /** swapoff of the swap device. */
  | { readonly kind: 'swapoff' };

export interface ScenarioSpec {
  readonly name: string;
  /** The scenario family it belongs to ('unmap-during-io', 'fork-vs-fault', …). */
  readonly family: string;
  readonly files?: readonly { readonly name: string; readonly pages: readonly number[] }[];
  /** Swap device slots (0: no swap device). */
  readonly swapSlots?: number;
  /** Processes at the start; `setup` runs in order in the process before the threads start. */
  readonly processes: readonly { readonly pid: number; readonly setup: readonly ModelOp[] }[];
  readonly kernelSetup?: readonly SetupAction[];
  /** The user threads, each running its program in its process. */
  readonly threads: readonly { readonly name: string; readonly pid: number; readonly program: readonly ModelOp[] }[];
  readonly daemons?: readonly DaemonSpec[];
  /** Let allocations fail (the scheduler decides): -ENOMEM paths. */
  readonly faultInjection?: boolean;
  /** Step limit (livelock detection). */
  readonly maxSteps?: number;
}
