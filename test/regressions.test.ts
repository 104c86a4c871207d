/**
 * The regression corpus: every counterexample kept in test/regressions/ replays, through
 * `faultline replay`, to the verdict it records (its violation's property): exit 1, reproduced.
 * A file whose bug no longer reproduces, or that no longer parses, fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '../cli/backend.js';
import { run } from './cli/fake.js';

const DIR = join(import.meta.dirname, 'regressions');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

describe('regression corpus (test/regressions)', () => {
  it('holds the zoo\'s minimal counterexamples', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const f of files) {
    it(`${f} replays to its recorded verdict`, async () => {
      const recorded = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { violation: { property: string }; schedule: string };
      const r = await run(['replay', f, '--json'], { cwd: DIR, backend: defaultBackend });
      expect(r.err).toBe('');
      expect(r.code).toBe(1);
      const j = JSON.parse(r.out) as { reproduced: boolean; violation: { property: string }; schedule: string };
      expect(j.reproduced).toBe(true);
      expect(j.violation.property).toBe(recorded.violation.property);
      expect(j.schedule).toBe(recorded.schedule);
    });
  }
});

describe('regression corpus: minimal stories', () => {
  for (const f of files) {
    it(`${f}: at most 3 tasks`, () => {
      const cx = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { tasks: number };
      expect(cx.tasks).toBeLessThanOrEqual(3);
    });
  }
});
