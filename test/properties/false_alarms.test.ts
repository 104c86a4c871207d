/**
 * Triaged false alarms whose counterexamples have more than 3 tasks (test/regressions keeps the
 * small ones): each replays, through `faultline replay`, to a pass. Without its fix each
 * reproduces (the file's "triage" says what was wrong and where it was fixed).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '../../cli/backend.js';
import { run } from '../cli/fake.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'false-alarms');

describe('triaged false alarms over 3 tasks', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
  it('the directory has files', () => expect(files.length).toBeGreaterThan(0));
  for (const f of files) {
    it(`${f}: its replay passes`, async () => {
      const r = await run(['replay', f, '--json'], { cwd: DIR, backend: defaultBackend });
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out) as { reproduced: boolean; status: string };
      expect(j.reproduced).toBe(false);
      expect(j.status).toBe('pass');
    });
  }
});
