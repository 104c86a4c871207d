/**
 * khugepaged's shmem collapse judged end to end (impl/mm/khugepaged.ts collapse_file, recorded by
 * the daemon as khugepaged_collapse; model/actions/khugepaged_collapse.ts). A 2 MiB
 * MAP_SHARED|MAP_ANONYMOUS region (shmem) with one page touched, khugepaged run first, then a
 * thread's UFFDIO_REGISTER (missing) and UFFDIO_COPY onto an untouched page:
 *
 *   P1 |-- shmem 2M: page 0 stored, the rest holes --|
 *   khugepaged: collapse_file (fills the holes)  →  T1: uffd_register(missing), UFFDIO_COPY(page 7)
 *
 * - collapse before the registration: the kernel fills the holes; the copy gets -EEXIST, and the
 *   model explains it by the recorded collapse (the false alarm of
 *   test/fixtures/false-alarms/khugepaged-shmem-collapse-then-register.json);
 * - registration in the setup (armed before khugepaged runs): collapse_file rolls back
 *   (SCAN_EXCEED_NONE_PTE), the copy succeeds; a planted collapse_file that ignores the
 *   registration fills the holes of an armed range, and the model rejects that collapse.
 */
import { describe, expect, it } from 'vitest';
import { defineVariant, generationVariant } from '../../impl/sim/variant.js';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { ModelOp } from '../../model/ops.js';
import { runScenario } from '../../properties/runner.js';
import { ScriptScheduler } from '../mm/io_harness.js';

const HP = 0x40000000;
const PMD = 512 * 4096;
const RW = { read: true, write: true, exec: false };
const mmapShm: ModelOp = { op: 'mmap', pid: 1, addr: HP, len: PMD, prot: RW, flags: { shared: true, anonymous: true, fixed: true, growsdown: false } };
const register: ModelOp = { op: 'uffd_register', pid: 1, addr: HP, len: PMD, mode: 'missing' };
const copy: ModelOp = { op: 'uffdio_copy', pid: 1, dst: HP + 7 * 4096, value: 9 };

function scenario(armedInSetup: boolean): ScenarioSpec {
  return {
    name: 'khugepaged-shmem',
    family: 'test',
    processes: [{ pid: 1, setup: [mmapShm, { op: 'store', pid: 1, addr: HP, value: 5 }, ...(armedInSetup ? [register] : [])] }],
    threads: [{ name: 'T1', pid: 1, program: armedInSetup ? [copy] : [register, copy] }],
    daemons: [{ kind: 'khugepaged', rounds: 1 }],
  };
}

/** khugepaged first (it takes the candidate: choice 1), then the thread. */
class KhugepagedFirst extends ScriptScheduler {
  constructor() {
    super([{ task: 'khugepaged', until: 'exit' }]);
  }
  override choose(n: number): number {
    return n > 1 ? 1 : 0;
  }
}

function run(armedInSetup: boolean, planted = false) {
  const variant = planted
    ? defineVariant({ name: 'planted', base: 'v6.6', description: 'collapse_file ignores missing-mode userfaultfds', overrides: { userfaultfd_missing: () => false } })
    : generationVariant('v6.6');
  const r = runScenario({ variant, scenario: scenario(armedInSetup), scheduler: new KhugepagedFirst() });
  const res = (op: string) => r.history.find((h) => h.op.op === op)?.result;
  return { r, collapse: res('khugepaged_collapse'), copy: res('uffdio_copy') };
}

/** khugepaged through n of its page-cache lookups, then the thread to its end, then the rest. */
class StoreMidScan extends ScriptScheduler {
  constructor(n: number) {
    super([{ task: 'khugepaged', until: 'filemap_get_entry', nth: n }, { task: 'T1', until: 'exit' }]);
  }
  override choose(n: number): number {
    return n > 1 ? 1 : 0;
  }
}

describe('khugepaged collapse of shmem, judged by the model', () => {
  it('v6.6: a store fills a hole the scan already counted: the commit re-counts (SCAN_PAGE_FILLED), nothing is collapsed, the store stays', () => {
    const sc: ScenarioSpec = {
      ...scenario(false),
      threads: [{ name: 'T1', pid: 1, program: [{ op: 'store', pid: 1, addr: HP + 7 * 4096, value: 8 }, { op: 'load', pid: 1, addr: HP + 7 * 4096 }] }],
    };
    const r = runScenario({ variant: generationVariant('v6.6'), scenario: sc, scheduler: new StoreMidScan(100) });
    const res = (op: string) => r.history.find((h) => h.op.op === op)?.result;
    expect(res('khugepaged_collapse')).toEqual({ kind: 'errno', errno: -11 });
    expect(res('load')).toEqual({ kind: 'value', value: 8 });
    expect(r.status, r.violation?.message).toBe('pass');
  });


  it('v6.6: collapse, then a missing-mode registration: UFFDIO_COPY onto a hole is -EEXIST, and that passes', () => {
    const { r, collapse, copy: c } = run(false);
    expect(collapse).toEqual({ kind: 'ok' });
    expect(c).toEqual({ kind: 'errno', errno: -17 });
    expect(r.status, r.violation?.message).toBe('pass');
  });

  it('v6.6: a range armed before khugepaged runs is not collapsed (SCAN_EXCEED_NONE_PTE): the holes stay, UFFDIO_COPY is ok', () => {
    const { r, collapse, copy: c } = run(true);
    expect(collapse).toEqual({ kind: 'errno', errno: -11 });
    expect(c).toEqual({ kind: 'ok' });
    expect(r.status, r.violation?.message).toBe('pass');
  });

  it('planted: collapse_file that does not look for missing-mode userfaultfds fills an armed range — the model rejects the collapse', () => {
    const { r, collapse } = run(true, true);
    expect(collapse).toEqual({ kind: 'ok' });
    expect(r.status).toBe('violation');
    expect(r.violation!.property).toBe('linearizability');
    expect(r.violation!.message).toMatch(/khugepaged/);
  });
});
