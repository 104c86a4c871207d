/**
 * Why a kernel function or a step label of impl/ is not reached by the default campaigns: the
 * short reason `faultline coverage` prints beside it (and the README's list repeats). Keys:
 * `fn:<name>` for a function of the table, `label:<label>` for a step label. A test checks that
 * every key still names a function or a label.
 */
export const UNREACHED_REASONS: Readonly<Record<string, string>> = {
};

export function unreachedReason(kind: 'fn' | 'label', name: string): string | undefined {
  return UNREACHED_REASONS[`${kind}:${name}`];
}
