// Asking Dawn for an adapter in a child process, so that what the native layer prints on the way
// (the Vulkan loader's "Found no drivers!", Dawn's warnings with their `at CheckVkSuccessImpl`
// lines) lands in a pipe this process holds instead of on the user's terminal: Dawn writes it
// from C++ straight to file descriptor 2, which Node cannot redirect around a call. The CLI
// installs quietDawn() as the gate in device.ts: Dawn is loaded into the CLI's own process only
// once the child has found an adapter, and a machine without a driver sees dsnot's one line.
// Node only (child_process); the library itself never spawns anything.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { describeAdapter, NO_ADAPTER, setDawnGate } from './device.js';

export interface DawnProbe {
  /** The adapter Dawn offers, or null. */
  adapter: { name: string; isFallbackAdapter: boolean } | null;
  /** Why there is no adapter (null when there is one). */
  reason: string | null;
  /** What the native layer wrote to stderr meanwhile (empty on a quiet machine). */
  native: string;
  /** Wall time of the probe, child start included. */
  ms: number;
}

// Long enough for a real driver's first start (shader caches, several ICDs), short enough that a
// hung driver does not hang the command: it is then reported as the reason WebGPU is not used.
const PROBE_TIMEOUT_MS = 30_000;

// The child: load Dawn, ask for an adapter, print one JSON line. It exits explicitly because a
// live dawn.node instance keeps the event loop open.
const CHILD = `
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n', () => process.exit(0));
let dawn;
try { dawn = await import(process.env.DSNOT_PROBE_WEBGPU); } catch (e) { out({ load: String(e && e.message || e) }); }
if (dawn) {
  try {
    const a = await dawn.create([]).requestAdapter({ powerPreference: 'high-performance' });
    const i = a && a.info;
    out(a ? { adapter: { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description,
      isFallbackAdapter: i.isFallbackAdapter === true || a.isFallbackAdapter === true } } : { adapter: null });
  } catch (e) { out({ error: String(e && e.message || e) }); }
}
`;

/** Where the optional `webgpu` package is, as a URL the child can import; null when it is not installed. */
function webgpuUrl(): string | null {
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  } catch {
    return null;
  }
}

interface ChildAnswer {
  adapter?: (GPUAdapterInfo & { isFallbackAdapter: boolean }) | null;
  load?: string;
  error?: string;
}

/** Ask Dawn for an adapter in a child process; never throws (a failure is the reason). */
export async function probeDawn(): Promise<DawnProbe> {
  const start = performance.now();
  const url = webgpuUrl();
  const done = (adapter: DawnProbe['adapter'], reason: string | null, native = ''): DawnProbe =>
    ({ adapter, reason, native: native.trim(), ms: performance.now() - start });
  if (url === null) return done(null, "the optional 'webgpu' package (Dawn for Node) is not installed");
  const { stdout, stderr, failure } = await new Promise<{ stdout: string; stderr: string; failure: string | null }>((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: { ...process.env, DSNOT_PROBE_WEBGPU: url },
      timeout: PROBE_TIMEOUT_MS,
      maxBuffer: 4 << 20,
      windowsHide: true,
    }, (err, out, errText) => {
      const why = err ? (err.killed ? `timed out after ${PROBE_TIMEOUT_MS / 1000} s` : err.signal ? `killed by ${err.signal}` : `exit status ${String(err.code)}`) : null;
      resolve({ stdout: String(out), stderr: String(errText), failure: why });
    });
  });
  let answer: ChildAnswer | null = null;
  try {
    answer = JSON.parse(stdout.trim().split('\n').pop() ?? '') as ChildAnswer;
  } catch {
    // no answer: the child crashed or hung inside the native layer; `failure` says how
  }
  if (!answer) return done(null, `asking Dawn for an adapter failed in a child process (${failure ?? 'no answer'})`, stderr);
  if (answer.load !== undefined) return done(null, `the optional 'webgpu' package (Dawn for Node) could not be loaded: ${answer.load}`, stderr);
  if (answer.error !== undefined) return done(null, `requestAdapter failed: ${answer.error}`, stderr);
  if (!answer.adapter) return done(null, NO_ADAPTER, stderr);
  return done({ name: describeAdapter(answer.adapter), isFallbackAdapter: answer.adapter.isFallbackAdapter }, null, stderr);
}

/**
 * Keep the native layer off the terminal for the rest of this process: Dawn is loaded here only
 * after a child process found an adapter with it. Without one, the reason says that --verbose
 * shows what the native layer printed (the CLI runs without this gate then). Not under Bun or
 * Deno, whose executables take other flags (and Deno has navigator.gpu, not Dawn's package).
 */
export function quietDawn(): void {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun || versions.deno) return;
  setDawnGate(async () => {
    const probe = await probeDawn();
    if (probe.adapter) return null;
    return probe.native ? `${probe.reason} (dsnot --verbose shows the native layer's messages)` : probe.reason;
  });
}
