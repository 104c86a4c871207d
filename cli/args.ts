/**
 * Argument parsing by hand, strict: every unknown flag, missing value, repeated flag or stray
 * positional is a UsageError with a one-line message.
 */
import { UsageError } from './io.js';

export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  /** Shown in the missing-value message: `--runs N`. */
  readonly value?: string;
}

export interface CommandSpec {
  readonly name: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Names of the positionals, in order (all required unless `optional`). */
  readonly positionals?: readonly string[];
  readonly optionalPositionals?: number;
}

export interface Parsed {
  readonly flags: ReadonlyMap<string, string | true>;
  readonly positionals: readonly string[];
  readonly help: boolean;
}

export function parseArgs(spec: CommandSpec, argv: readonly string[]): Parsed {
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  let help = false;
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (onlyPositionals || !a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    if (a === '--') {
      onlyPositionals = true;
      continue;
    }
    if (a === '-h' || a === '--help') {
      help = true;
      continue;
    }
    if (!a.startsWith('--')) {
      throw new UsageError(`${spec.name}: unknown option ${a} (options are long: --flag)`);
    }
    const eq = a.indexOf('=');
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const f = spec.flags[name];
    if (f === undefined) {
      const known = Object.keys(spec.flags);
      throw new UsageError(`${spec.name}: unknown option --${name}${known.length ? ` (options: ${known.map((k) => '--' + k).join(', ')})` : ' (it takes no options)'}`);
    }
    if (flags.has(name)) throw new UsageError(`${spec.name}: --${name} given more than once`);
    if (f.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`${spec.name}: --${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) value = argv[++i];
    if (value === undefined || value === '') {
      throw new UsageError(`${spec.name}: --${name} needs a value (--${name} ${f.value ?? 'VALUE'})`);
    }
    flags.set(name, value);
  }
  if (!help) {
    const names = spec.positionals ?? [];
    const required = names.length - (spec.optionalPositionals ?? 0);
    if (positionals.length < required) {
      throw new UsageError(`${spec.name}: missing ${names.slice(positionals.length, required).join(' ')}`);
    }
    if (positionals.length > names.length) {
      const extra = positionals[names.length]!;
      throw new UsageError(`${spec.name}: unexpected argument "${clip(extra)}"`);
    }
  }
  return { flags, positionals, help };
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, name: string): boolean {
  return p.flags.get(name) === true;
}

/** A non-negative integer flag (decimal digits only), within [min, max]. */
export function intFlag(p: Parsed, cmd: string, name: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = str(p, name);
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) {
    throw new UsageError(`${cmd}: --${name} must be ${min > 0 ? 'a positive' : 'a non-negative'} integer, not "${clip(v)}"`);
  }
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${cmd}: --${name} must be between ${min} and ${max}, not ${clip(v)}`);
  }
  return n;
}

/** A positive number of seconds (decimals allowed). */
export function secondsFlag(p: Parsed, cmd: string, name: string): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(v) || !(Number(v) > 0) || !Number.isFinite(Number(v))) {
    throw new UsageError(`${cmd}: --${name} must be a positive number of seconds, not "${clip(v)}"`);
  }
  return Number(v);
}

/** A share between 0 and 1 (decimals allowed); 0 when absent. */
export function shareFlag(p: Parsed, cmd: string, name: string): number {
  const v = str(p, name);
  if (v === undefined) return 0;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(v) || !(Number(v) >= 0 && Number(v) <= 1)) {
    throw new UsageError(`${cmd}: --${name} must be a share between 0 and 1, not "${clip(v)}"`);
  }
  return Number(v);
}

/** One of a fixed set of names. */
export function choiceFlag<T extends string>(p: Parsed, cmd: string, name: string, values: readonly T[], dflt: T): T {
  const v = str(p, name);
  if (v === undefined) return dflt;
  if (!values.includes(v as T)) throw new UsageError(`${cmd}: unknown ${name} "${clip(v)}" (one of ${values.join(', ')})`);
  return v as T;
}
