// Threads for the wasm kernels: how many (the `threads` option), whether this host can have them
// (SharedArrayBuffer, workers), the pool of workers, and the runner that splits a job into chunks
// over the main thread and the pool (chunks.ts). Node and Deno use node:worker_threads, Bun and
// browsers Web Workers from a Blob URL; all unref'd where the host allows (an idle pool never
// keeps a process alive).
import { CHUNK_KERNELS, SLOT, jobResult, runChunks, writeJob, type ChunkJob } from './chunks.js';
import { workerSource, type WorkerInit } from './worker.js';
import { MAX_THREADS, checkThreads } from '../../validate.js';

export type ThreadsOption = 'auto' | number;

/** 'auto' never takes more than this many threads (memory bandwidth is shared long before). */
const AUTO_CAP = 16;
/**
 * Sizes of the work split. parallelWork: jobs with fewer inner operations run on the calling
 * thread (waking the workers costs ~50 µs). chunkWeights: weights per chunk of the row-wise
 * kernels (engines optimise a wasm function for its next call, not while a call runs: a layer done
 * in one call would run in the baseline tier). Tests shrink both to split small layers.
 */
export const tuning = { parallelWork: 1 << 20, chunkWeights: 1 << 18 };

/**
 * Node's worker_threads: in Node, and in Deno, whose Web Workers cannot be unref'd but whose
 * node:worker_threads can. Bun takes Web Workers (which it lets unref).
 */
const isNode = (): boolean => typeof process !== 'undefined' && !!process.versions?.node && !('Bun' in globalThis);

/** Cores as Node counts them (os.availableParallelism), else navigator.hardwareConcurrency. */
async function cores(): Promise<number> {
  if (isNode()) {
    const os = await import('node:os');
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

/**
 * The thread count an option asks for. 'auto': all cores up to AUTO_CAP, unless the environment
 * variable DSNOT_TEST_THREADS says otherwise (test suites use it to run everything at one count).
 */
export async function resolveThreads(option: ThreadsOption | undefined = 'auto'): Promise<number> {
  const checked = checkThreads(option);
  if (checked !== 'auto') return checked;
  const forced = typeof process !== 'undefined' ? process.env?.DSNOT_TEST_THREADS : undefined;
  if (forced) return checkThreads(Number(forced)) as number;
  return Math.max(1, Math.min(AUTO_CAP, MAX_THREADS, await cores()));
}

/** Why this host cannot run wasm threads, or null when it can. */
export function threadsUnavailable(): string | null {
  if (typeof SharedArrayBuffer === 'undefined') {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
    return isolated === false
      ? 'SharedArrayBuffer needs a cross-origin isolated page (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)'
      : 'this host has no SharedArrayBuffer';
  }
  if (!isNode() && typeof Worker === 'undefined') return 'this host has no Web Workers';
  return null;
}

interface PoolWorker {
  terminate(): unknown;
}

/** Workers 1..n−1 on a shared memory, each waiting on the control block for jobs. */
export class ThreadPool {
  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly ctl: number,
    private readonly workers: PoolWorker[],
    private readonly kernels: Array<(...a: number[]) => number | undefined>,
  ) {}

  get participants(): number {
    return this.workers.length + 1;
  }

  /** Starts `threads − 1` workers and waits until each has instantiated the module. */
  static async create(threads: number, wasm: Uint8Array, memory: WebAssembly.Memory, ctl: number, exports: Record<string, unknown>): Promise<ThreadPool> {
    const start = isNode() ? await nodeStarter() : webStarter();
    const workers: PoolWorker[] = [];
    try {
      const ready: Promise<void>[] = [];
      for (let p = 1; p < threads; p++) {
        const init: WorkerInit = { wasm, memory, ctl, participant: p, kernels: CHUNK_KERNELS };
        const { worker, started } = start(init);
        workers.push(worker);
        ready.push(started);
      }
      await Promise.all(ready);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    const kernels = CHUNK_KERNELS.map((name) => exports[name] as (...a: number[]) => number);
    return new ThreadPool(memory, ctl, workers, kernels);
  }

  /**
   * Runs the job's chunks on every participant; returns the largest value a kernel call returned.
   * `idle`: host tasks the main thread takes while the workers start on the chunks, and again
   * while it waits for the last of them.
   */
  run(job: ChunkJob, idle: IdleQueue): number {
    const buffer = this.memory.buffer;
    const i32 = new Int32Array(buffer, this.ctl, 128);
    writeJob(buffer, this.ctl, CHUNK_KERNELS, job, this.participants);
    Atomics.add(i32, SLOT.seq, 1);
    Atomics.notify(i32, SLOT.seq);
    const chunks = Math.ceil(job.units / Math.max(1, job.step));
    while (Atomics.load(i32, SLOT.next) < chunks && idle.runOne());
    runChunks(this.kernels, buffer, this.ctl, 0);
    while (Atomics.load(i32, SLOT.done) < this.workers.length && idle.runOne());
    waitForWorkers(i32, this.workers.length);
    if (Atomics.load(i32, SLOT.failed) !== 0) throw new Error(`wasm kernel ${job.kernel} failed in a worker thread`);
    return jobResult(buffer, this.ctl, this.participants);
  }

  terminate(): void {
    const i32 = new Int32Array(this.memory.buffer, this.ctl, 128);
    Atomics.store(i32, SLOT.stop, 1);
    Atomics.add(i32, SLOT.seq, 1);
    Atomics.notify(i32, SLOT.seq);
    for (const w of this.workers) w.terminate();
  }
}

let canBlock = true;
/** Until `workers` have finished: Atomics.wait where allowed, else (a browser's main thread) spin. */
function waitForWorkers(i32: Int32Array, workers: number): void {
  for (let d = Atomics.load(i32, SLOT.done); d < workers; d = Atomics.load(i32, SLOT.done)) {
    if (!canBlock) continue;
    try {
      Atomics.wait(i32, SLOT.done, d);
    } catch {
      canBlock = false; // "Atomics.wait cannot be called in this context"
    }
  }
}

type Starter = (init: WorkerInit) => { worker: PoolWorker; started: Promise<void> };

/** Resolves on the worker's 'ready', rejects on anything else it says first or on an error. */
function readiness(on: (handler: (m: unknown) => void) => void, onError: (handler: (e: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    on((m) => (m === 'ready' ? resolve() : reject(new Error(`wasm thread: ${String(m)}`))));
    onError(reject);
  });
}

async function nodeStarter(): Promise<Starter> {
  const { Worker: NodeWorker } = await import('node:worker_threads');
  const source = workerSource(true);
  return (init) => {
    // An inherited --input-type=module would make the source an ES module, without `require`.
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    const worker = new NodeWorker(source, { eval: true, execArgv });
    worker.unref(); // an idle pool does not keep the process alive
    const started = readiness((h) => worker.once('message', h), (h) => worker.once('error', h));
    worker.postMessage(init);
    return { worker, started };
  };
}

function webStarter(): Starter {
  const url = URL.createObjectURL(new Blob([workerSource(false)], { type: 'text/javascript' }));
  return (init) => {
    const worker = new Worker(url, { type: 'module' });
    // Bun keeps a process alive while a Web Worker lives, unless it is unref'd.
    (worker as { unref?: () => void }).unref?.();
    const started = readiness(
      (h) => worker.addEventListener('message', (e) => h(e.data), { once: true }),
      (h) => worker.addEventListener('error', (e) => h(new Error(e.message)), { once: true }),
    );
    worker.postMessage(init);
    return { worker, started };
  };
}

/**
 * Host work for the main thread's idle moments: while the workers run a job it does these tasks
 * before it joins the chunks. Used to touch the pages of fresh result arrays (on a fresh array
 * the page faults cost more than copying into it), which otherwise one thread does at read-back.
 */
export class IdleQueue {
  private readonly tasks: Array<{ owner: object; run: () => void }> = [];

  add(owner: object, runs: Array<() => void>): void {
    for (const run of runs) this.tasks.push({ owner, run });
  }

  /** Drops the owner's tasks not yet run. */
  cancel(owner: object): void {
    for (let i = this.tasks.length - 1; i >= 0; i--) if (this.tasks[i].owner === owner) this.tasks.splice(i, 1);
  }

  /** Runs the next task; false when there was none. */
  runOne(): boolean {
    const t = this.tasks.shift();
    t?.run();
    return t !== undefined;
  }
}

/**
 * Runs jobs: over the pool when there is one and the job is worth waking it for, else on this
 * thread through the very same chunk loop (one implementation; the same results either way).
 */
export class ChunkRunner {
  private readonly kernels: Array<(...a: number[]) => number | undefined>;

  constructor(
    private readonly memory: () => WebAssembly.Memory,
    private readonly ctl: number,
    exports: Record<string, unknown>,
    readonly pool: ThreadPool | null,
  ) {
    this.kernels = CHUNK_KERNELS.map((name) => exports[name] as (...a: number[]) => number);
  }

  readonly idle = new IdleQueue();

  /** Threads a large job may use (1 without a pool). */
  get threads(): number {
    return this.pool?.participants ?? 1;
  }

  /** Participants whose per-thread scratch a job must provide. */
  get participants(): number {
    return this.threads;
  }

  run(job: ChunkJob): number {
    if (this.pool && job.work >= tuning.parallelWork && job.units > job.step) return this.pool.run(job, this.idle);
    const buffer = this.memory().buffer;
    writeJob(buffer, this.ctl, CHUNK_KERNELS, job, 1);
    runChunks(this.kernels, buffer, this.ctl, 0);
    return jobResult(buffer, this.ctl, 1);
  }

  dispose(): void {
    this.pool?.terminate();
  }
}
