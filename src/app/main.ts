// The page: the form (or the URL: ?model=…&calib=…&run=1) makes a RunRequest, a Worker runs
// prune() on it, and RunView draws what the worker reports. The page itself never computes, so
// it stays responsive; a failed run leaves the form ready for the next one.
import { buildSettings, fillForm, formParams } from './form.js';
import { flagDefaults, isOn, modelUrl, parseParams, type AppRequest } from './params.js';
import { opfsFolder, type DataChoice, type ModelChoice, type OutputChoice, type RunRequest, type WorkerMessage } from './protocol.js';
import { RunView } from './view.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('form');
const view = new RunView();

/** What the user picked (these have no URL form): a model folder or its files, data files, an output folder. */
const picks: { model?: ModelChoice; calib?: File; eval?: File; out?: FileSystemDirectoryHandle } = {};
let worker: Worker | null = null;

type Picker = (options?: { mode?: 'read' | 'readwrite'; id?: string }) => Promise<FileSystemDirectoryHandle>;
const showDirectoryPicker = (globalThis as { showDirectoryPicker?: Picker }).showDirectoryPicker;

function wirePickers(): void {
  const files = $<HTMLInputElement>('model-files');
  $('pick-model').addEventListener('click', async () => {
    // Without showDirectoryPicker (Firefox, Safari), the folder input does the same.
    if (!showDirectoryPicker) return files.click();
    const handle = await showDirectoryPicker({ id: 'dsnot-model' }).catch(() => null);
    if (handle) setModelPick({ handle }, handle.name);
  });
  files.addEventListener('change', () => {
    const list = [...(files.files ?? [])].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
    if (list.length) setModelPick({ files: list }, list[0].path.split('/')[0]);
  });
  $<HTMLInputElement>('calib-file').addEventListener('change', (e) => { picks.calib = (e.target as HTMLInputElement).files?.[0]; });
  $<HTMLInputElement>('eval-file').addEventListener('change', (e) => { picks.eval = (e.target as HTMLInputElement).files?.[0]; });
  $('pick-out').addEventListener('click', async () => {
    const handle = await showDirectoryPicker?.({ mode: 'readwrite', id: 'dsnot-out' }).catch(() => null);
    if (!handle) return;
    picks.out = handle;
    $('out-picked').textContent = handle.name;
    form.querySelector<HTMLInputElement>('input[name=output-kind][value=folder]')!.checked = true;
  });
}

function setModelPick(choice: ModelChoice, name: string): void {
  picks.model = choice;
  $<HTMLInputElement>('model').value = '';
  $('model-picked').textContent = `picked: ${name}`;
  $('model-picked').dataset.name = name;
}

/** A URL parameter's file as the worker takes it: the picked file wins over the URL field. */
function data(file: File | undefined, url: string | undefined): DataChoice | undefined {
  if (file) return { file };
  return url ? { url: new URL(url, location.href).href } : undefined;
}

/** The form (and any picks) as a RunRequest; throws with a message for the user. */
function request(req: AppRequest): RunRequest {
  const model: ModelChoice | undefined = req.model ? { url: modelUrl(req.model, location.href) } : picks.model;
  if (!model) throw new Error('choose a model: pick its folder, or give its URL');
  const calib = data(picks.calib, req.calib);
  if (!calib) throw new Error('choose calibration data: a text or C4 JSON-lines file, or its URL');
  const evalData = data(picks.eval, req.evalText ?? req.evalTokens);
  const kind = (form.querySelector<HTMLInputElement>('input[name=output-kind]:checked')?.value ?? 'opfs') as OutputChoice['kind'];
  if (kind === 'folder' && !picks.out) throw new Error('pick the output folder, or choose this browser\'s storage');
  const modelName = 'url' in model ? decodeURIComponent(new URL(model.url).pathname.split('/').filter(Boolean).pop() ?? 'model') : $('model-picked').dataset.name ?? 'model';
  const output: OutputChoice = kind === 'folder' ? { kind, handle: picks.out! } : { kind, name: safeName(req.out ?? `${modelName}-pruned`) };
  return {
    model, calib, output, settings: req.settings,
    eval: evalData && { data: evalData, kind: req.evalTokens && !picks.eval ? 'tokens' : 'text', seqlen: req.evalSeqlen },
  };
}

/** An OPFS folder name: one plain name, nothing that could be a path. */
function safeName(name: string): string {
  return name.replace(/[\\/:*?"<>|\0]/g, '_').replace(/^\.+/, '') || 'output';
}

function start(extra: URLSearchParams): void {
  let req: AppRequest;
  let run: RunRequest;
  const params = formParams(form, extra);
  try {
    parseParams(extra); // the URL as given: a value the form cannot hold (owl=maybe) is refused, not dropped
    req = parseParams(params);
    run = request(req);
  } catch (e) {
    view.failed((e as Error).message);
    return;
  }
  history.replaceState(null, '', `?${params}`);
  const asked = req.settings.device ?? 'auto';
  view.running(asked);
  setRunning(true);
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = async ({ data: m }: MessageEvent<WorkerMessage>) => {
    if (m.type === 'progress') return view.progress(m.progress);
    finish();
    if (m.type === 'error') return view.failed(m.busy ? `The output folder is busy: ${m.message}` : m.message);
    view.done(m.report, asked, await outputFiles(run.output, m.report.files));
  };
  worker.onerror = (e) => {
    finish();
    view.failed(e.message || 'the worker failed to start');
  };
  worker.postMessage(run);
}

/** The output's files, with download links where the page can read them (OPFS). */
async function outputFiles(output: OutputChoice, names: string[]): Promise<Array<{ name: string; href?: string }>> {
  if (output.kind !== 'opfs') return names.map((name) => ({ name }));
  const dir = await opfsFolder(output.name, false);
  return Promise.all(names.map(async (name) => ({ name, href: URL.createObjectURL(await (await dir.getFileHandle(name)).getFile()) })));
}

function finish(): void {
  worker?.terminate();
  worker = null;
  setRunning(false);
}

function setRunning(on: boolean): void {
  $<HTMLButtonElement>('start').disabled = on;
  $<HTMLButtonElement>('stop').disabled = !on;
}

buildSettings($('settings'), flagDefaults());
wirePickers();
const initial = new URLSearchParams(location.search);
fillForm(form, initial);
form.addEventListener('submit', (e) => {
  e.preventDefault();
  start(new URLSearchParams());
});
$('stop').addEventListener('click', () => {
  finish();
  view.failed('stopped; Prune again with the same model and settings to continue where it stopped');
});
if (isOn(initial.get('run'))) start(initial);
