// The Web Worker that runs the whole prune() (the page only draws): model and data from URLs,
// picked files or folders; output to OPFS or a picked folder, which resumes an interrupted run
// (pipeline/output.ts over handle-fs.ts) and is locked against a second tab (web-lock.ts).
import { prune } from '../prune.js';
import type { CalibrationInput, PruneEvaluation } from '../prune.js';
import type { ModelInput } from '../io/source.js';
import { FileListSource } from '../io/sources/file-list.js';
import { OutputBusyError } from '../pipeline/folder-lock.js';
import { opfsFolder, type DataChoice, type ModelChoice, type OutputChoice, type RunRequest, type WorkerMessage } from './protocol.js';

const post = (m: WorkerMessage) => (self as unknown as Worker).postMessage(m);

function modelInput(m: ModelChoice): ModelInput {
  if ('url' in m) return m.url;
  if ('handle' in m) return m.handle;
  return new FileListSource(m.files);
}

/** The bytes of a data file (calibration, evaluation), with an error that names it. */
async function dataBytes(d: DataChoice, what: string): Promise<Uint8Array> {
  if ('file' in d) return new Uint8Array(await d.file.arrayBuffer());
  const r = await fetch(d.url).catch((e: Error) => {
    throw new Error(`${what}: cannot fetch ${d.url} (${e.message})`);
  });
  if (!r.ok) throw new Error(`${what}: cannot fetch ${d.url} (HTTP ${r.status} ${r.statusText})`);
  return new Uint8Array(await r.arrayBuffer());
}

async function evaluation(e: RunRequest['eval']): Promise<PruneEvaluation | undefined> {
  if (!e) return undefined;
  const text = new TextDecoder().decode(await dataBytes(e.data, e.kind === 'text' ? 'eval-text' : 'eval-tokens'));
  if (e.kind === 'text') return { text, seqlen: e.seqlen };
  let tokens: unknown;
  try {
    tokens = JSON.parse(text);
  } catch {
    throw new Error('eval-tokens: not JSON (one array of token ids expected)');
  }
  if (!Array.isArray(tokens)) throw new Error('eval-tokens: one JSON array of token ids expected');
  return { tokens: tokens as number[], seqlen: e.seqlen };
}

function output(o: OutputChoice): Promise<FileSystemDirectoryHandle> {
  return o.kind === 'opfs' ? opfsFolder(o.name, true) : Promise.resolve(o.handle);
}

self.onmessage = async (event: MessageEvent<RunRequest>) => {
  const req = event.data;
  try {
    const calibration: CalibrationInput = await dataBytes(req.calib, 'calib');
    const report = await prune({
      ...req.settings,
      model: modelInput(req.model),
      output: await output(req.output),
      calibration,
      evaluation: await evaluation(req.eval),
      progress_callback: (progress) => post({ type: 'progress', progress }),
    });
    post({ type: 'done', report });
  } catch (e) {
    console.error(e); // the stack, for the browser's devtools
    post({ type: 'error', message: (e as Error)?.message ?? String(e), busy: e instanceof OutputBusyError });
  }
};
