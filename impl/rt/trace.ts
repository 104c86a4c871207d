/** One step of a traced run: which task ran, what it did, what it held. */
export interface TraceEvent {
  readonly step: number;
  readonly task: number;
  /** The kernel-named label of the step ("mmap_read_lock", "do_anonymous_page:set_pte_at"). */
  readonly label: string;
  /** The object the step touched, by name. */
  readonly obj: string;
  /** Locks held by the task when the step began (from the hooks' describe). */
  readonly held: string;
  /** The task had been blocked and this step is its wake-up. */
  readonly blocked: boolean;
}
