/**
 * A correct generation passes: v6.6 under the general workload generator (processes, threads,
 * programs, layouts, daemons) and check's schedule portfolio, with @fast-check/vitest's test.prop.
 * Fixed seed; 40 workloads (a campaign is `npx faultline check`, not a unit test).
 */
import { test } from '@fast-check/vitest';
import { checkRun, schedules, workload } from 'faultline';

const v66 = checkRun('v6.6');

test.prop([workload(), schedules()], { seed: 1, numRuns: 40 })('v6.6 breaks no invariant and refines the model', (scenario, schedule) => {
  v66(scenario, schedule);
});
