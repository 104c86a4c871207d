/**
 * Counterexample files: a versioned JSON record of one failing run — the configuration, the
 * variant (a zoo mutant by name or a user's variant file by path), the whole scenario, the
 * schedule string that replays the run strictly, and the violation as the run reported it.
 *
 *   {
 *     "format": "faultline-counterexample", "version": 1,
 *     "config": "v6.4", "mutant": "b8-fork",
 *     "scenario": { … the ScenarioSpec … },
 *     "schedule": "v1:12t1.30t0",
 *     "violation": { "property": "…", "message": "…", "step": 41, "task": 1, "taskName": "T1", "report": [ … ] },
 *     "steps": 97, "preemptions": 2, "tasks": 3,
 *     "createdBy": "faultline 0.1.0 check", "command": "npx faultline replay counterexamples/….json"
 *   }
 *
 * The writer is deterministic (fixed key order at every level, the same bytes for the same
 * counterexample); the reader is strict and turns every defect into one line (CounterexampleError).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configNames, findConfig } from './configs.js';
import { decodeSchedule, ScheduleError } from '../impl/rt/schedule.js';
import { UFFD_MONITORS, type ScenarioSpec } from '../impl/sim/scenario.js';
import type { OpName } from '../model/ops.js';

export const COUNTEREXAMPLE_FORMAT = 'faultline-counterexample';
export const COUNTEREXAMPLE_VERSION = 1;

export interface CounterexampleViolation {
  readonly property: string;
  readonly message: string;
  /** Global step during which it was detected (-1: at the end of the run). */
  readonly step: number;
  /** Task id (-1: no task, an end-of-run check). */
  readonly task: number;
  readonly taskName: string;
  /** The report as the kernel would print it (lockdep splat, KASAN report, …). */
  readonly report: readonly string[];
}

export interface Counterexample {
  readonly format: typeof COUNTEREXAMPLE_FORMAT;
  readonly version: typeof COUNTEREXAMPLE_VERSION;
  /** The kernel configuration the run used ('v6.4', …). */
  readonly config: string;
  /** A zoo mutant by name (impl/bugs), rebased on `config`. */
  readonly mutant?: string;
  /** A user's variant module (path as given to --variant), rebased on `config`. */
  readonly variantFile?: string;
  readonly scenario: ScenarioSpec;
  /** The normalised schedule (v1:…): replays the run strictly. */
  readonly schedule: string;
  readonly violation: CounterexampleViolation;
  readonly steps: number;
  readonly preemptions: number;
  /** Number of user threads. */
  readonly tasks: number;
  readonly createdBy: string;
  /** The one-line replay command. */
  readonly command: string;
  /**
   * A triaged false alarm kept in test/regressions: `"pass"` when a correct generation once
   * flagged this run and the model or the simulation was fixed, so its replay must now pass.
   */
  readonly expected?: 'pass';
  /** With `expected`: what was wrong, and where it was fixed. */
  readonly triage?: string;
}

/** A counterexample file that cannot be used: the message is one line, fit for `faultline: …`. */
export class CounterexampleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CounterexampleError';
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Key order at every level: these first (in this order), then the rest alphabetically. */
const KEY_ORDER = [
  'format', 'version', 'config', 'mutant', 'variantFile', 'scenario', 'schedule', 'violation', 'steps', 'preemptions',
  'tasks', 'createdBy', 'command', 'expected', 'triage',
  // scenario
  'name', 'family', 'files', 'swapSlots', 'processes', 'kernelSetup', 'threads', 'daemons', 'faultInjection', 'maxSteps',
  // ops, setup actions, daemons
  'op', 'do', 'kind', 'pid', 'target', 'setup', 'program', 'addr', 'oldAddr', 'src', 'dst', 'len', 'oldLen', 'newLen', 'newAddr',
  'prot', 'flags', 'file', 'offset', 'page', 'value', 'read', 'write', 'exec', 'shared', 'anonymous', 'fixed', 'growsdown',
  // violation
  'property', 'message', 'step', 'task', 'taskName', 'report',
];
const KEY_RANK = new Map(KEY_ORDER.map((k, i) => [k, i]));

function orderKeys(keys: string[]): string[] {
  return keys.sort((a, b) => {
    const ra = KEY_RANK.get(a) ?? Infinity;
    const rb = KEY_RANK.get(b) ?? Infinity;
    if (ra !== rb) return ra - rb;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

/** A copy with keys in the canonical order and undefined fields dropped (plain JSON values only). */
export function canonicalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonicalize);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of orderKeys(Object.keys(o).filter((k) => o[k] !== undefined))) out[k] = canonicalize(o[k]);
    return out;
  }
  return v;
}

const INLINE_WIDTH = 132;

/** One-line JSON with a space after commas and colons (outside strings). */
function inline(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(inline).join(', ') + ']';
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    return keys.length === 0 ? '{}' : '{ ' + keys.map((k) => `${JSON.stringify(k)}: ${inline(o[k])}`).join(', ') + ' }';
  }
  return JSON.stringify(v);
}

/** Pretty JSON: a value whose one-line form fits in the line is written on one line. */
function pretty(v: unknown, indent: string): string {
  const flat = inline(v);
  if (v === null || typeof v !== 'object' || indent.length + flat.length <= INLINE_WIDTH) return flat;
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    return '[\n' + v.map((x) => inner + pretty(x, inner)).join(',\n') + '\n' + indent + ']';
  }
  const o = v as Record<string, unknown>;
  return '{\n' + Object.keys(o).map((k) => `${inner}${JSON.stringify(k)}: ${pretty(o[k], inner)}`).join(',\n') + '\n' + indent + '}';
}

/** The file's bytes: canonical key order, pretty, newline at the end. */
export function serializeCounterexample(cx: Counterexample): string {
  return pretty(canonicalize(cx), '') + '\n';
}

/** A short, stable hash of what identifies the failing run. */
export function counterexampleHash(cx: Pick<Counterexample, 'config' | 'mutant' | 'variantFile' | 'scenario' | 'schedule' | 'violation'>): string {
  const key = JSON.stringify(canonicalize([cx.config, cx.mutant ?? '', cx.variantFile ?? '', cx.scenario, cx.schedule, cx.violation.property]));
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+|_+$/g, '').slice(0, 60) || 'x';
}

/** `<config-or-mutant>-<property>-<short hash>.json` */
export function counterexampleFileName(cx: Pick<Counterexample, 'config' | 'mutant' | 'variantFile' | 'scenario' | 'schedule' | 'violation'>): string {
  return `${slug(cx.mutant ?? cx.config)}-${slug(cx.violation.property)}-${counterexampleHash(cx)}.json`;
}

export interface CounterexampleInput {
  readonly config: string;
  readonly mutant?: string;
  readonly variantFile?: string;
  readonly scenario: ScenarioSpec;
  readonly schedule: string;
  readonly violation: CounterexampleViolation;
  readonly steps: number;
  readonly preemptions: number;
  readonly tasks: number;
  readonly createdBy: string;
}

/** Build the record; `command(fileName)` gives the replay one-liner for the file it will be written as. */
export function makeCounterexample(input: CounterexampleInput, command: (fileName: string) => string): Counterexample {
  const v = input.violation;
  const base = {
    format: COUNTEREXAMPLE_FORMAT,
    version: COUNTEREXAMPLE_VERSION,
    config: input.config,
    ...(input.mutant !== undefined ? { mutant: input.mutant } : {}),
    ...(input.variantFile !== undefined ? { variantFile: input.variantFile } : {}),
    scenario: input.scenario,
    schedule: input.schedule,
    violation: {
      property: v.property, message: v.message, step: v.step, task: v.task, taskName: v.taskName, report: [...v.report],
    },
    steps: input.steps,
    preemptions: input.preemptions,
    tasks: input.tasks,
    createdBy: input.createdBy,
  } as const;
  return { ...base, command: command(counterexampleFileName(base)) };
}

/** Write into `dir` (created if needed) under its canonical name; returns the path. */
export async function writeCounterexample(dir: string, cx: Counterexample): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, counterexampleFileName(cx));
  await writeFile(path, serializeCounterexample(cx));
  return path;
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface ReadOptions {
  /** Names of the zoo mutants; a `mutant` not among them is an error. Unset: not checked. */
  readonly mutants?: readonly string[];
}

/** Read and validate a counterexample file. */
export async function readCounterexample(path: string, opts: ReadOptions = {}): Promise<Counterexample> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : code ?? 'unreadable';
    throw new CounterexampleError(`cannot read counterexample ${path}: ${why}`);
  }
  return parseCounterexample(text, opts, path);
}

/** Parse and validate the text of a counterexample file. */
export function parseCounterexample(text: string, opts: ReadOptions = {}, source = 'counterexample'): Counterexample {
  const fail = (msg: string): never => {
    throw new CounterexampleError(`${source}: ${msg}`);
  };
  if (text.trim() === '') fail('file is empty');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const m = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    const pos = /position (\d+)/.exec(m);
    const truncated = /Unexpected end/i.test(m) || (pos !== null && Number(pos[1]) >= text.trimEnd().length);
    fail(`not valid JSON (${truncated ? 'truncated: ' : ''}${m})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('not a counterexample (expected a JSON object)');
  const o = raw as Record<string, unknown>;
  if (o.format !== COUNTEREXAMPLE_FORMAT) {
    fail(o.format === undefined ? `not a counterexample (no "format": "${COUNTEREXAMPLE_FORMAT}")` : `unknown format ${show(o.format)} (expected "${COUNTEREXAMPLE_FORMAT}")`);
  }
  if (o.version !== COUNTEREXAMPLE_VERSION) {
    fail(o.version === undefined ? 'missing field "version"' : `unsupported version ${show(o.version)} (this faultline reads version ${COUNTEREXAMPLE_VERSION})`);
  }
  const c = new Checker(fail);
  c.noExtraKeys(o, '', ['format', 'version', 'config', 'mutant', 'variantFile', 'scenario', 'schedule', 'violation', 'steps', 'preemptions', 'tasks', 'createdBy', 'command', 'expected', 'triage']);
  const config = c.str(o, 'config');
  if (!findConfig(config)) fail(`unknown configuration ${show(config)} (one of ${configNames()})`);
  const mutant = c.optStr(o, 'mutant');
  const variantFile = c.optStr(o, 'variantFile');
  if (mutant !== undefined && variantFile !== undefined) fail('both "mutant" and "variantFile" are set (at most one)');
  if (mutant !== undefined && opts.mutants && !opts.mutants.includes(mutant)) {
    fail(`unknown mutant ${show(mutant)}${opts.mutants.length ? ` (one of ${opts.mutants.join(', ')})` : ' (no mutants are built)'}`);
  }
  if (variantFile === '') fail('"variantFile" is empty');
  const scenario = c.scenario(c.obj(o, 'scenario'));
  const schedule = c.str(o, 'schedule');
  try {
    decodeSchedule(schedule);
  } catch (e) {
    if (e instanceof ScheduleError) fail(`malformed schedule: ${e.message}`);
    throw e;
  }
  const v = c.obj(o, 'violation');
  c.noExtraKeys(v, 'violation.', ['property', 'message', 'step', 'task', 'taskName', 'report']);
  const property = c.str(v, 'property', 'violation.');
  if (property === '') fail('"violation.property" is empty');
  const violation: CounterexampleViolation = {
    property,
    message: c.str(v, 'message', 'violation.'),
    step: c.int(v, 'step', 'violation.', -1),
    task: c.int(v, 'task', 'violation.', -1),
    taskName: c.str(v, 'taskName', 'violation.'),
    report: c.strArray(v, 'report', 'violation.'),
  };
  const steps = c.int(o, 'steps', '', 0);
  const preemptions = c.int(o, 'preemptions', '', 0);
  const tasks = c.int(o, 'tasks', '', 0);
  if (violation.step > steps) fail(`"violation.step" ${violation.step} is beyond the run's ${steps} steps`);
  const createdBy = c.str(o, 'createdBy');
  const command = c.str(o, 'command');
  const expected = c.optStr(o, 'expected');
  if (expected !== undefined && expected !== 'pass') fail(`"expected" is ${show(expected)} (the only kept expectation is "pass")`);
  const triage = c.optStr(o, 'triage');
  return {
    format: COUNTEREXAMPLE_FORMAT, version: COUNTEREXAMPLE_VERSION, config,
    ...(mutant !== undefined ? { mutant } : {}),
    ...(variantFile !== undefined ? { variantFile } : {}),
    scenario, schedule, violation, steps, preemptions, tasks, createdBy, command,
    ...(expected !== undefined ? { expected: 'pass' as const } : {}),
    ...(triage !== undefined ? { triage } : {}),
  };
}

function show(v: unknown): string {
  return clip(JSON.stringify(v) ?? String(v));
}
function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}
function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

type Rec = Record<string, unknown>;

/** Field checks with the path in the message. */
class Checker {
  constructor(readonly fail: (msg: string) => never) {}

  private get(o: Rec, key: string, at: string): unknown {
    if (!(key in o) || o[key] === undefined) this.fail(`missing field "${at}${key}"`);
    return o[key];
  }
  private wrong(at: string, key: string, want: string, got: unknown): never {
    return this.fail(`field "${at}${key}" must be ${want}, not ${typeName(got)}${typeof got === 'number' || typeof got === 'string' ? ` (${show(got)})` : ''}`);
  }
  str(o: Rec, key: string, at = ''): string {
    const v = this.get(o, key, at);
    if (typeof v !== 'string') this.wrong(at, key, 'a string', v);
    return v as string;
  }
  optStr(o: Rec, key: string, at = ''): string | undefined {
    if (o[key] === undefined) return undefined;
    return this.str(o, key, at);
  }
  int(o: Rec, key: string, at = '', min = -Infinity): number {
    const v = this.get(o, key, at);
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.wrong(at, key, 'an integer', v);
    if ((v as number) < min) this.fail(`field "${at}${key}" must be ≥ ${min}, not ${v as number}`);
    return v as number;
  }
  optInt(o: Rec, key: string, at = '', min = -Infinity): number | undefined {
    if (o[key] === undefined) return undefined;
    return this.int(o, key, at, min);
  }
  bool(o: Rec, key: string, at = ''): boolean {
    const v = this.get(o, key, at);
    if (typeof v !== 'boolean') this.wrong(at, key, 'true or false', v);
    return v as boolean;
  }
  optBool(o: Rec, key: string, at = ''): boolean | undefined {
    if (o[key] === undefined) return undefined;
    return this.bool(o, key, at);
  }
  obj(o: Rec, key: string, at = ''): Rec {
    const v = this.get(o, key, at);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.wrong(at, key, 'an object', v);
    return v as Rec;
  }
  arr(o: Rec, key: string, at = ''): unknown[] {
    const v = this.get(o, key, at);
    if (!Array.isArray(v)) this.wrong(at, key, 'an array', v);
    return v as unknown[];
  }
  optArr(o: Rec, key: string, at = ''): unknown[] | undefined {
    if (o[key] === undefined) return undefined;
    return this.arr(o, key, at);
  }
  strArray(o: Rec, key: string, at = ''): string[] {
    const a = this.arr(o, key, at);
    a.forEach((x, i) => {
      if (typeof x !== 'string') this.fail(`field "${at}${key}[${i}]" must be a string, not ${typeName(x)}`);
    });
    return a as string[];
  }
  intArray(o: Rec, key: string, at = '', min = -Infinity): number[] {
    const a = this.arr(o, key, at);
    a.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min) this.fail(`field "${at}${key}[${i}]" must be an integer${min > -Infinity ? ` ≥ ${min}` : ''}`);
    });
    return a as number[];
  }
  elem(x: unknown, at: string): Rec {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) this.fail(`"${at}" must be an object, not ${typeName(x)}`);
    return x as Rec;
  }
  noExtraKeys(o: Rec, at: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.fail(`unknown field ${show(at + k)}`);
  }
  oneOf<T extends string>(o: Rec, key: string, at: string, values: readonly T[]): T {
    const v = this.str(o, key, at);
    if (!values.includes(v as T)) this.fail(`field "${at}${key}" must be one of ${values.join(', ')}, not ${show(v)}`);
    return v as T;
  }

  scenario(s: Rec): ScenarioSpec {
    const at = 'scenario.';
    this.noExtraKeys(s, at, ['name', 'family', 'files', 'swapSlots', 'processes', 'kernelSetup', 'threads', 'daemons', 'faultInjection', 'maxSteps']);
    this.str(s, 'name', at);
    this.str(s, 'family', at);
    (this.optArr(s, 'files', at) ?? []).forEach((x, i) => {
      const p = `${at}files[${i}]`;
      const f = this.elem(x, p);
      this.noExtraKeys(f, p + '.', ['name', 'pages']);
      this.str(f, 'name', p + '.');
      this.intArray(f, 'pages', p + '.', 0);
    });
    this.optInt(s, 'swapSlots', at, 0);
    const procs = this.arr(s, 'processes', at);
    procs.forEach((x, i) => {
      const p = `${at}processes[${i}]`;
      const pr = this.elem(x, p);
      this.noExtraKeys(pr, p + '.', ['pid', 'setup']);
      this.int(pr, 'pid', p + '.', 1);
      this.arr(pr, 'setup', p + '.').forEach((op, j) => this.op(op, `${p}.setup[${j}]`, true));
    });
    (this.optArr(s, 'kernelSetup', at) ?? []).forEach((x, i) => this.setupAction(x, `${at}kernelSetup[${i}]`));
    const threads = this.arr(s, 'threads', at);
    threads.forEach((x, i) => {
      const p = `${at}threads[${i}]`;
      const t = this.elem(x, p);
      this.noExtraKeys(t, p + '.', ['name', 'pid', 'program']);
      this.str(t, 'name', p + '.');
      this.int(t, 'pid', p + '.', 1);
      this.arr(t, 'program', p + '.').forEach((op, j) => this.op(op, `${p}.program[${j}]`));
    });
    (this.optArr(s, 'daemons', at) ?? []).forEach((x, i) => this.daemon(x, `${at}daemons[${i}]`));
    this.optBool(s, 'faultInjection', at);
    this.optInt(s, 'maxSteps', at, 1);
    return s as unknown as ScenarioSpec;
  }

  private setupAction(x: unknown, p: string): void {
    const a = this.elem(x, p);
    const d = this.oneOf(a, 'do', p + '.', ['swap_out', 'evict', 'cache'] as const);
    if (d === 'swap_out') {
      this.noExtraKeys(a, p + '.', ['do', 'pid', 'addr']);
      this.int(a, 'pid', p + '.', 1);
      this.int(a, 'addr', p + '.', 0);
    } else {
      this.noExtraKeys(a, p + '.', ['do', 'file', 'page']);
      this.str(a, 'file', p + '.');
      this.int(a, 'page', p + '.', 0);
    }
  }

  private daemon(x: unknown, p: string): void {
    const d = this.elem(x, p);
    const kind = this.oneOf(d, 'kind', p + '.', ['reclaim', 'uffd_handler', 'khugepaged', 'swapoff'] as const);
    const q = p + '.';
    switch (kind) {
      case 'reclaim':
        this.noExtraKeys(d, q, ['kind', 'rounds', 'targets']);
        this.int(d, 'rounds', q, 0);
        this.arr(d, 'targets', q).forEach((t, i) => {
          const r = this.elem(t, `${q}targets[${i}]`);
          this.noExtraKeys(r, `${q}targets[${i}].`, ['pid', 'addr']);
          this.int(r, 'pid', `${q}targets[${i}].`, 1);
          this.int(r, 'addr', `${q}targets[${i}].`, 0);
        });
        break;
      case 'uffd_handler':
        this.noExtraKeys(d, q, ['kind', 'pid', 'count', 'value', 'monitor']);
        this.int(d, 'pid', q, 1);
        this.int(d, 'count', q, 0);
        this.int(d, 'value', q, 0);
        if (d['monitor'] !== undefined) this.oneOf(d, 'monitor', q, UFFD_MONITORS);
        break;
      case 'khugepaged':
        this.noExtraKeys(d, q, ['kind', 'rounds']);
        this.int(d, 'rounds', q, 0);
        break;
      case 'swapoff':
        this.noExtraKeys(d, q, ['kind']);
        break;
    }
  }

  /** A ModelOp (model/ops.ts): the operation's own fields, each of the right type. */
  private op(x: unknown, p: string, setup = false): void {
    const o = this.elem(x, p);
    const q = p + '.';
    const name = this.str(o, 'op', q);
    const shapes = (setup ? { ...OP_SHAPES, ...SETUP_OP_SHAPES } : OP_SHAPES) as Readonly<Record<string, Readonly<Record<string, string>>>>;
    const shape = Object.hasOwn(shapes, name) ? shapes[name] : undefined;
    if (!shape) this.fail(`"${q}op" is not a known operation (${show(name)})`);
    this.int(o, 'pid', q, 1);
    const allowed = ['op', 'pid', ...Object.keys(shape!)];
    this.noExtraKeys(o, q, allowed);
    for (const [key, t] of Object.entries(shape!)) {
      const optional = t.endsWith('?');
      const ty = optional ? t.slice(0, -1) : t;
      if (optional && o[key] === undefined) continue;
      switch (ty) {
        case 'int': this.int(o, key, q, 0); break;
        case 'value': this.int(o, key, q); break;
        case 'str': this.str(o, key, q); break;
        case 'prot': this.flags(this.obj(o, key, q), `${q}${key}.`, ['read', 'write', 'exec'], []); break;
        case 'mmapflags': this.flags(this.obj(o, key, q), `${q}${key}.`, ['shared', 'anonymous', 'fixed', 'growsdown'], ['noreplace']); break;
        case 'mremapflags': this.flags(this.obj(o, key, q), `${q}${key}.`, ['maymove', 'fixed', 'dontunmap'], []); break;
        case 'advice': this.oneOf(o, key, q, ['dontneed'] as const); break;
        case 'uffdmode': this.oneOf(o, key, q, ['missing', 'wp'] as const); break;
        case 'ioctlcmd': this.oneOf(o, key, q, ['KVM_CREATE_VM'] as const); break;
        default: throw new Error(`counterexample.ts: unknown field type ${ty}`);
      }
    }
  }

  private flags(o: Rec, at: string, required: readonly string[], optional: readonly string[]): void {
    this.noExtraKeys(o, at, [...required, ...optional]);
    for (const k of required) this.bool(o, k, at);
    for (const k of optional) this.optBool(o, k, at);
  }
}

/**
 * The fields of each operation besides `op` and `pid` (model/ops.ts); '?' marks optional ones.
 * Keyed by every operation a thread's program may hold (the type makes a new operation without
 * its shape a type error: a counterexample file it writes must replay); khugepaged_collapse and
 * uffd_settle are performed by the daemons and the monitor, never by a program (khugepaged_collapse
 * also by a process's setup: SETUP_OP_SHAPES).
 */
/**
 * Operations a process's setup may hold besides a program's: khugepaged's collapse of a PMD range
 * (the general generator's layouts whose 2 MiB anonymous region starts as a huge page,
 * properties/arbitraries/layout.ts startsHuge).
 */
const SETUP_OP_SHAPES: { readonly khugepaged_collapse: Readonly<Record<string, string>> } = {
  khugepaged_collapse: { addr: 'int' },
};

const OP_SHAPES: { readonly [K in Exclude<OpName, 'khugepaged_collapse' | 'uffd_settle'>]: Readonly<Record<string, string>> } = {
  mmap: { addr: 'int', len: 'int', prot: 'prot', flags: 'mmapflags', file: 'str?', offset: 'int?' },
  munmap: { addr: 'int', len: 'int' },
  mprotect: { addr: 'int', len: 'int', prot: 'prot' },
  mremap: { oldAddr: 'int', oldLen: 'int', newLen: 'int', flags: 'mremapflags', newAddr: 'int?' },
  madvise: { addr: 'int', len: 'int', advice: 'advice' },
  mbind: { addr: 'int', len: 'int', policy: 'str' },
  get_mempolicy: { addr: 'int' },
  fork: {},
  exit: {},
  close: { file: 'str' },
  load: { addr: 'int' },
  store: { addr: 'int', value: 'value' },
  pread: { file: 'str', page: 'int' },
  pwrite: { file: 'str', page: 'int', value: 'value' },
  proc_mem_write: { target: 'int', addr: 'int', value: 'value' },
  read_maps: { target: 'int' },
  read_smaps: { target: 'int' },
  uffd_register: { addr: 'int', len: 'int', mode: 'uffdmode' },
  uffd_unregister: { addr: 'int', len: 'int' },
  uffdio_copy: { dst: 'int', value: 'value' },
  uffdio_move: { src: 'int', dst: 'int' },
  uffd_read_event: {},
  dio_read: { file: 'str', page: 'int', addr: 'int' },
  dio_write: { file: 'str', page: 'int', addr: 'int' },
  dev_ioctl: { file: 'str', cmd: 'ioctlcmd' },
};
