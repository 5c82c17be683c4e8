// Before a resumed run trusts an interrupted run's partial state, it checks it: the journal's own
// checksum was checked when it was read (folder-state.ts); here, the hidden-state file and every
// tensor the journal says is finished, against the SHA-256 recorded when they were written. Any
// mismatch (a disk error, a file damaged or changed by hand) means the state cannot be trusted:
// the run starts over from the first layer, the last point it can verify.
import type { FolderState, Journal } from './folder-state.js';
import { checkTensorsIn, hashFile } from './integrity.js';

/** Why the partial state cannot be trusted, or null when it checks out. */
export async function checkPartialState(state: FolderState, j: Journal<unknown>): Promise<string | null> {
  // A journal in its commit phase is checked file by file by the commit itself (output.ts).
  if (j.phase === 'commit') return null;
  const files = state.readable();
  if (j.hidden) {
    const expected = j.hidden.lengths.reduce((n, l) => n + 4 * l, 0);
    const got = await hashFile(files, j.hidden.file).catch(() => null);
    if (!got) return `${j.hidden.file} is missing`;
    if (got.size !== expected) return `${j.hidden.file} holds ${got.size} bytes, the journal expects ${expected}`;
    if (got.hash !== j.hidden.sha256) return `${j.hidden.file} is not the file the journal recorded`;
  } else if (j.layersDone > 0) {
    return 'the journal names no hidden states';
  }
  const expected: Record<string, string> = {};
  for (const name of j.written) {
    if (typeof j.hashes[name] !== 'string') return `the journal has no hash for ${name}`;
    expected[name] = j.hashes[name];
  }
  const problems = await checkTensorsIn(files, await state.partialShards(), expected);
  return problems.length ? problems[0] + (problems.length > 1 ? ` (and ${problems.length - 1} more)` : '') : null;
}
