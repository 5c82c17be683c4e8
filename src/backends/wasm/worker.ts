// The body of a worker thread: instantiate the threaded module on the shared memory, say ready,
// then wait for jobs (Atomics.wait on the control block's sequence number) and run their chunks
// with the same runChunks as the main thread. Workers are created from source text (no file to
// serve or resolve, in Node, Deno, Bun and browsers alike), so workerBody and runChunks are
// self-contained and travel as their function source.
import { runChunks } from './chunks.js';

/** What the main thread posts once to each worker. */
export interface WorkerInit {
  wasm: Uint8Array;
  memory: WebAssembly.Memory;
  ctl: number;
  participant: number;
  kernels: readonly string[];
}

type Port = { postMessage(m: unknown): void };

/** Runs inside the worker: `init` arrived on `port`; `run` is runChunks. Never returns while jobs come. */
async function workerBody(init: WorkerInit, port: Port, run: typeof runChunks): Promise<void> {
  const module = await WebAssembly.compile(init.wasm as BufferSource);
  const abort = () => {
    throw new Error('wasm kernel aborted');
  };
  const instance = await WebAssembly.instantiate(module, { env: { memory: init.memory, abort } });
  const exports = instance.exports as Record<string, (...a: number[]) => number>;
  const kernels = init.kernels.map((name) => exports[name]);
  const i32 = new Int32Array(init.memory.buffer, init.ctl, 128);
  // Slots as chunks.ts's SLOT names them (this function cannot import): 0 seq, 2 done, 35 failed, 36 stop.
  let seen = Atomics.load(i32, 0);
  port.postMessage('ready');
  for (;;) {
    Atomics.wait(i32, 0, seen);
    seen = Atomics.load(i32, 0);
    if (Atomics.load(i32, 36) !== 0) return;
    try {
      run(kernels, init.memory.buffer, init.ctl, init.participant);
    } catch (e) {
      Atomics.store(i32, 35, 1);
      port.postMessage(`failed: ${(e as Error).message}`);
    }
    Atomics.add(i32, 2, 1);
    Atomics.notify(i32, 2);
  }
}

/**
 * The worker's source: Node's worker_threads (eval: true, CommonJS, messages on parentPort) or a
 * Web Worker (module; messages on self).
 */
export function workerSource(node: boolean): string {
  const receive = node
    ? // CommonJS (the pool drops an inherited --input-type=module); getBuiltinModule where not.
      `const port = (typeof require === 'function' ? require : process.getBuiltinModule)('node:worker_threads').parentPort; port.once('message', start);`
    : `const port = self; self.onmessage = (e) => { self.onmessage = null; start(e.data); };`;
  return [
    `const runChunks = ${runChunks.toString()};`,
    `const workerBody = ${workerBody.toString()};`,
    `function start(init) { workerBody(init, port, runChunks).catch((e) => port.postMessage('failed: ' + e.message)); }`,
    receive,
  ].join('\n');
}
