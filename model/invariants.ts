/**
 * TypeOK-style invariants of the model state: pure predicates returning a reason string when
 * violated, or null. They must hold in every reachable state (test/model/invariants.test.ts).
 */
import { MMAP_MIN_ADDR, PAGE_SIZE, TASK_SIZE, ZERO_PAGE, type MmState } from './state.js';

export type Invariant = (s: MmState) => string | null;

const eachVma = (s: MmState, f: (pid: number, v: MmState['processes'][number]['vmas'][number], i: number) => string | null): string | null => {
  for (const p of Object.values(s.processes)) {
    for (let i = 0; i < p.vmas.length; i++) {
      const r = f(p.pid, p.vmas[i]!, i);
      if (r) return r;
    }
  }
  return null;
};

const at = (pid: number, v: { start: number; end: number }): string =>
  `P${pid} VMA ${v.start.toString(16)}-${v.end.toString(16)}`;

export const PageAligned: Invariant = (s) =>
  eachVma(s, (pid, v) => (v.start % PAGE_SIZE !== 0 || v.end % PAGE_SIZE !== 0 ? `${at(pid, v)} is not page aligned` : null));

export const NonEmptyVmas: Invariant = (s) => eachVma(s, (pid, v) => (v.start >= v.end ? `${at(pid, v)} is empty` : null));

export const VmasInUserRange: Invariant = (s) =>
  eachVma(s, (pid, v) => (v.start < MMAP_MIN_ADDR || v.end > TASK_SIZE ? `${at(pid, v)} is outside [mmap_min_addr, TASK_SIZE)` : null));

export const VmasSorted: Invariant = (s) => {
  for (const p of Object.values(s.processes)) {
    for (let i = 1; i < p.vmas.length; i++) {
      if (p.vmas[i - 1]!.start >= p.vmas[i]!.start) return `P${p.pid} VMAs out of order at ${i}`;
    }
  }
  return null;
};

export const NoOverlappingVmas: Invariant = (s) => {
  for (const p of Object.values(s.processes)) {
    for (let i = 1; i < p.vmas.length; i++) {
      if (p.vmas[i - 1]!.end > p.vmas[i]!.start) return `${at(p.pid, p.vmas[i - 1]!)} overlaps ${at(p.pid, p.vmas[i]!)}`;
    }
  }
  return null;
};

/** Private pages lie inside their VMA, hold non-negative integers (or ZERO_PAGE). */
export const PagesInsideVma: Invariant = (s) =>
  eachVma(s, (pid, v) => {
    for (const [k, val] of Object.entries(v.pages)) {
      const a = Number(k) * PAGE_SIZE;
      if (a < v.start || a >= v.end) return `${at(pid, v)} holds page ${a.toString(16)} outside it`;
      if (!(Number.isInteger(val) && (val >= 0 || val === ZERO_PAGE))) return `${at(pid, v)} page ${a.toString(16)} holds ${val}`;
      if (v.shared || v.driver) return `${at(pid, v)} is shared but holds a private page`;
      if (val !== ZERO_PAGE && v.anonVma === null) return `${at(pid, v)} holds an anonymous page without an anon_vma`;
    }
    return null;
  });

/** Only private anonymous memory maps the zero page. */
export const ZeroPageOnlyAnon: Invariant = (s) =>
  eachVma(s, (pid, v) =>
    v.file !== null && Object.values(v.pages).includes(ZERO_PAGE) ? `${at(pid, v)} maps the zero page in a file mapping` : null,
  );

export const FilesExist: Invariant = (s) =>
  eachVma(s, (pid, v) => (v.file !== null && !s.files[v.file] ? `${at(pid, v)} maps unknown file ${v.file}` : null));

export const DriverFlagMatchesFile: Invariant = (s) =>
  eachVma(s, (pid, v) => (v.driver !== (v.file !== null && (s.files[v.file]?.driver ?? false)) ? `${at(pid, v)} driver flag mismatch` : null));

export const GrowsdownOnlyAnonPrivate: Invariant = (s) =>
  eachVma(s, (pid, v) => (v.growsdown && (v.file !== null || v.shared) ? `${at(pid, v)} is VM_GROWSDOWN but not private anonymous` : null));

/** Registrations only where vma_can_userfault allows, and only with a context. */
export const UffdOnlyWhereAllowed: Invariant = (s) =>
  eachVma(s, (pid, v) => {
    if (v.uffd === null) return null;
    if (!s.uffd[pid]) return `${at(pid, v)} is registered but P${pid} has no userfaultfd`;
    if (v.driver || (v.file !== null && !(v.shared && s.files[v.file]?.shmem))) return `${at(pid, v)} cannot userfault`;
    return null;
  });

export const FilePagesWithinSize: Invariant = (s) => {
  for (const [name, f] of Object.entries(s.files)) {
    if (!Number.isInteger(f.size) || f.size < 0) return `file ${name} has size ${f.size}`;
    for (const k of Object.keys(f.pages)) if (Number(k) >= f.size) return `file ${name} holds page ${k} beyond its size ${f.size}`;
  }
  return null;
};

export const ProcessKeys: Invariant = (s) => {
  for (const [k, p] of Object.entries(s.processes)) {
    if (Number(k) !== p.pid) return `process keyed ${k} has pid ${p.pid}`;
    if (p.pid >= s.nextPid) return `P${p.pid} is not below nextPid ${s.nextPid}`;
  }
  for (const k of Object.keys(s.uffd)) if (!s.processes[Number(k)]) return `userfaultfd of dead process ${k}`;
  return null;
};

export const INVARIANTS: Readonly<Record<string, Invariant>> = {
  PageAligned,
  NonEmptyVmas,
  VmasInUserRange,
  VmasSorted,
  NoOverlappingVmas,
  PagesInsideVma,
  ZeroPageOnlyAnon,
  FilesExist,
  DriverFlagMatchesFile,
  GrowsdownOnlyAnonPrivate,
  UffdOnlyWhereAllowed,
  FilePagesWithinSize,
  ProcessKeys,
};

/** TypeOK: all invariants; the first violation as "Name: reason", or null. */
export function TypeOK(s: MmState): string | null {
  for (const [name, inv] of Object.entries(INVARIANTS)) {
    const r = inv(s);
    if (r) return `${name}: ${r}`;
  }
  return null;
}
