/** A scenario family: draws one small scenario per seed (`faultline list scenarios`). */
import type fc from 'fast-check';
import type { ScenarioSpec } from '../../impl/sim/scenario.js';
import type { MutableFamily } from '../corpus.js';

/**
 * A behaviour of the family's programs that a real program may have either way (a monitor that
 * wakes defensively or relies on a documented contract, …): named values, the first the default.
 * It changes what the scenarios it draws carry, never how many or which operations they draw.
 */
export interface FamilyOption {
  readonly name: string;
  /** The values it takes; the first is the default. */
  readonly values: readonly string[];
  readonly description: string;
}

/** Chosen option values by option name. */
export type FamilyOptions = Readonly<Record<string, string>>;

export interface Family {
  readonly name: string;
  readonly description: string;
  readonly options?: readonly FamilyOption[];
  /** One scenario per seed; `options` (validated by bindFamily) default to each option's first value. */
  generate(seed: number, options?: FamilyOptions): ScenarioSpec;
  /**
   * A family drawn from a fast-check arbitrary (the general generator): generate(seed) is the
   * arbitrary's value for that seed (properties/arbitraries/draw.ts), so a counterexample's
   * workload can be shrunk by fast-check's own shrinker before its schedule is.
   */
  readonly arbitrary?: fc.Arbitrary<ScenarioSpec>;
  /** Its workloads as plain draws a coverage-guided corpus can mutate (properties/corpus.ts). */
  readonly mutable?: MutableFamily<unknown>;
}

/**
 * A family by its command-line spec: `NAME` or `NAME:OPTION=VALUE[,OPTION=VALUE…]`
 * (`uffd:monitor=contract`). The result is the family with those options bound, named by the whole
 * spec (so a campaign of it is told apart from the plain family); a string is the one-line reason
 * the spec is not usable.
 */
export function bindFamily<F extends Family>(spec: string, families: ReadonlyMap<string, F>): F | Family | string {
  const colon = spec.indexOf(':');
  const base = colon < 0 ? spec : spec.slice(0, colon);
  const f = families.get(base);
  if (!f) return `unknown scenario "${base}" (one of ${[...families.keys()].join(', ')})`;
  if (colon < 0) return f;
  const opts: Record<string, string> = {};
  const known = f.options ?? [];
  const list = known.length ? `options: ${known.map((o) => `${o.name}=${o.values.join('|')}`).join(', ')}` : 'it takes no options';
  for (const kv of spec.slice(colon + 1).split(',')) {
    const eq = kv.indexOf('=');
    const key = eq < 0 ? kv : kv.slice(0, eq);
    const o = known.find((x) => x.name === key);
    if (!o) return `scenario ${base} has no option "${key}" (${list})`;
    const value = eq < 0 ? '' : kv.slice(eq + 1);
    if (!o.values.includes(value)) return `scenario option ${base}:${key} takes ${o.values.join(' or ')}, not "${value}"`;
    opts[key] = value;
  }
  return { name: spec, description: f.description, options: known, generate: (seed: number) => f.generate(seed, opts) };
}

/** An option's value: the chosen one, else its default (the first). */
export function optionValue(f: Family, options: FamilyOptions | undefined, name: string): string {
  const o = f.options?.find((x) => x.name === name);
  if (!o) throw new Error(`family ${f.name} has no option ${name}`);
  return options?.[name] ?? o.values[0]!;
}
