// verifyOutput() (`dsnot verify OUT`): re-check a finished output folder against its report,
// reading every byte once:
//   - the folder holds a finished run: no .dsnot-partial, a dsnot-report.json with `integrity`,
//     every file it lists and nothing else visible;
//   - the report's content hash agrees with its own hashes (the report was not edited);
//   - every shard header, tensor and side file hashes to what was recorded while writing;
//   - every pruned linear has the zeros the report says (its sparsity);
//   - every tensor the run did not prune (embeddings, norms, lm head, …) equals the input's,
//     the input being the report's `model`, or `model` when given (moved, or another machine).
// Problems are collected, one line each naming the file or tensor, rather than thrown: a user
// fixing a folder wants all of them at once.
import { openModel } from '../io/model.js';
import { createSha256 } from '../io/sha256.js';
import { openSource, type ModelInput, type Source } from '../io/source.js';
import { PARTIAL_DIR, REPORT_FILE } from './folder-state.js';
import { LOCK_FILE } from './folder-lock.js';
import { contentHashOf, hashFile, scanShard, type Integrity, type ScannedTensor } from './integrity.js';
import type { PruneReport } from './report.js';

export interface VerifyOptions {
  /** The output folder of a prune run. */
  output: string;
  /** The input model to compare the untouched tensors with (default: the report's `model`). */
  model?: ModelInput;
  signal?: AbortSignal;
}

export interface VerifyResult {
  ok: boolean;
  /** The folder checked (absolute). */
  output: string;
  /** One line per failure, naming the file or tensor; empty when ok. */
  problems: string[];
  checked: { files: number; tensors: number; linears: number; untouched: number };
  /** The report's content hash (when it checks out), null otherwise. */
  contentHash: string | null;
  /** The input the untouched tensors were compared with, or null when it could not be opened. */
  model: string | null;
}

export async function verifyOutput(options: VerifyOptions): Promise<VerifyResult> {
  const { resolve, join } = await import('node:path');
  const fs = await import('node:fs/promises');
  const output = resolve(options.output);
  const result: VerifyResult = { ok: false, output, problems: [], checked: { files: 0, tensors: 0, linears: 0, untouched: 0 }, contentHash: null, model: null };
  const problems = result.problems;
  const exists = (p: string) => fs.stat(p).then(() => true, () => false);
  if (!(await exists(output))) return fail(result, `${output} does not exist`);
  if (await exists(join(output, PARTIAL_DIR))) {
    problems.push(`${output} holds an unfinished prune run (${PARTIAL_DIR}/): run the same dsnot prune command again to resume it, then verify`);
  }
  let report: PruneReport;
  try {
    report = JSON.parse(await fs.readFile(join(output, REPORT_FILE), 'utf8')) as PruneReport;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : `unreadable (${(e as Error).message})`;
    return fail(result, `${REPORT_FILE} is ${why}: ${output} is not a finished dsnot output${problems.length ? '' : ' (if a run was interrupted, run the same dsnot prune command again)'}`);
  }
  const integrity = report.integrity;
  if (!integrity || typeof integrity.tensors !== 'object' || typeof integrity.headers !== 'object' || typeof integrity.files !== 'object') {
    return fail(result, `${REPORT_FILE} has no integrity hashes (written by an older dsnot): prune again to get a verifiable output`);
  }
  if ((await contentHashOf(integrity)) !== integrity.contentHash) problems.push(`${REPORT_FILE}: its content hash does not match its hashes (the report was edited)`);
  else result.contentHash = integrity.contentHash;
  await checkFileSet(output, report, problems);
  const source = await openSource(output);
  try {
    result.checked.files = await checkSideFiles(source, integrity, problems);
    const scanned = await checkShardFiles(source, integrity, problems, options.signal);
    result.checked.tensors = scanned.size;
    result.checked.linears = checkLinears(report, scanned, problems);
    const pruned = new Set(report.linears.map((l) => l.weight));
    const untouched = [...scanned.keys()].filter((n) => !pruned.has(n));
    await compareWithInput(options.model ?? report.model, untouched, scanned, result, options.signal);
  } finally {
    await source.close();
  }
  result.ok = problems.length === 0;
  return result;
}

function fail(result: VerifyResult, problem: string): VerifyResult {
  result.problems.push(problem);
  result.ok = false;
  return result;
}

/** Every file the report lists is there, and nothing else visible (dot files: the lock, temporaries). */
async function checkFileSet(output: string, report: PruneReport, problems: string[]): Promise<void> {
  const fs = await import('node:fs/promises');
  const present = new Set((await fs.readdir(output)).filter((n) => !n.startsWith('.')));
  const listed = new Set(Array.isArray(report.files) ? report.files : []);
  for (const f of listed) if (!present.has(f)) problems.push(`${f} is missing (the report lists it)`);
  for (const f of present) if (!listed.has(f)) problems.push(`${f} is not part of the output (the report does not list it)`);
  // A run may be rewriting the folder now (or was killed before it let go of the lock).
  if (await fs.stat(`${output}/${LOCK_FILE}`).then(() => true, () => false)) {
    problems.push(`${LOCK_FILE} is present: a run may be writing this folder; verify again once it has finished (if no run is active, remove ${LOCK_FILE})`);
  }
}

async function checkSideFiles(source: Source, integrity: Integrity, problems: string[]): Promise<number> {
  let n = 0;
  for (const [name, hash] of Object.entries(integrity.files)) {
    const got = await hashFile(source, name).catch(() => null);
    if (!got) continue; // reported by checkFileSet
    n++;
    if (got.hash !== hash) problems.push(`${name}: its bytes differ from the ones written`);
  }
  return n;
}

/** Each shard's header and tensors against the recorded hashes; the scanned tensors by name. */
async function checkShardFiles(source: Source, integrity: Integrity, problems: string[], signal?: AbortSignal): Promise<Map<string, ScannedTensor>> {
  const all = new Map<string, ScannedTensor>();
  for (const [file, headerHash] of Object.entries(integrity.headers)) {
    signal?.throwIfAborted();
    if ((await source.size(file)) === null) continue; // reported by checkFileSet
    let scanned;
    try {
      scanned = await scanShard(source, file);
    } catch (e) {
      problems.push(`${(e as Error).message}`);
      continue;
    }
    if (scanned.headerHash !== headerHash) problems.push(`${file}: its header differs from the one written`);
    for (const [name, t] of scanned.tensors) {
      all.set(name, t);
      const want = integrity.tensors[name];
      if (want === undefined) problems.push(`${file}: tensor ${name} is not in the report`);
      else if (t.hash !== want) problems.push(`${file}: tensor ${name} differs from the bytes written (sha256 ${t.hash.slice(0, 16)}…, report ${want.slice(0, 16)}…)`);
    }
  }
  for (const name of Object.keys(integrity.tensors)) if (!all.has(name)) problems.push(`tensor ${name} (in the report) is in no shard`);
  return all;
}

/** Each pruned linear's zeros on disk equal the report's count (and its sparsity that fraction). */
function checkLinears(report: PruneReport, scanned: Map<string, ScannedTensor>, problems: string[]): number {
  let n = 0;
  for (const e of report.linears ?? []) {
    const t = scanned.get(e.weight);
    if (!t) continue; // reported as missing
    n++;
    if (t.zeros !== e.zeros) problems.push(`${e.weight}: ${t.zeros ?? 'no'} zeros on disk, the report says ${e.zeros} (sparsity ${e.sparsity})`);
    else if (e.sparsity !== e.zeros / (e.rows * e.cols)) problems.push(`${e.weight}: the report's sparsity ${e.sparsity} is not its zeros ${e.zeros} / ${e.rows * e.cols}`);
  }
  return n;
}

/** The tensors the run did not prune equal the input model's, byte for byte (by hash). */
async function compareWithInput(
  model: ModelInput, names: string[], scanned: Map<string, ScannedTensor>, result: VerifyResult, signal?: AbortSignal,
): Promise<void> {
  let opened;
  try {
    opened = await openModel(model, { signal });
  } catch (e) {
    result.problems.push(`cannot open the input model ${String(model)} to compare the tensors the run did not prune (${(e as Error).message}): give the input with --model IN (API: model)`);
    return;
  }
  result.model = opened.source.location + (opened.source.entry ? `/${opened.source.entry}` : '');
  const buffer = new Uint8Array(16 * 2 ** 20);
  try {
    for (const name of names) {
      signal?.throwIfAborted();
      const info = opened.reader.info(name);
      if (!info) {
        result.problems.push(`${name} is not in the input model ${result.model}`);
        continue;
      }
      const h = await createSha256();
      for (let at = 0; at < info.byteLength; at += buffer.length) {
        h.update(await opened.reader.readByteRange(name, at, buffer.subarray(0, Math.min(buffer.length, info.byteLength - at)), { signal }));
      }
      if (h.hex() !== scanned.get(name)!.hash) result.problems.push(`${name}: differs from the input model's (the run does not change it)`);
      else result.checked.untouched++;
    }
  } finally {
    await opened.close();
  }
}
