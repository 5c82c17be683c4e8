// `dsnot app`: serve the browser app (the page built into dist/app/, next to this CLI's bundle)
// and, with --models DIR, a folder of models and data at /models/, then wait until Ctrl-C.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliUsageError, optionalString, parseCommand, type FlagSpec } from './args.js';
import { integerFlag } from './inputs.js';
import { serveStatic } from './static-server.js';

const FLAGS: FlagSpec = {
  port: { type: 'string' },
  host: { type: 'string' },
  models: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const HELP = `usage: dsnot app [--port 8080] [--host 127.0.0.1] [--models DIR]
Serves the browser app: pick a model folder (or give a URL), calibration text and settings, and
prune in the tab (WebGPU, or WebAssembly), output to a folder you pick or to the browser's
private storage (OPFS), resumable after a reload.
--models DIR: also serve DIR at /models/ (models as /models/NAME, data files beside them).
--port 0 picks a free port. The page is plain static files (dist/app/): any static host serves
it, with the headers Cross-Origin-Opener-Policy: same-origin and
Cross-Origin-Embedder-Policy: require-corp (see README, "Browser app").
URL parameters are the flags of dsnot prune (model, calib, sparsity, …); run=1 starts the run.`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, FLAGS, HELP);
  if (!args) return 0;
  const port = integerFlag(args.flags, 'port') ?? 8080;
  if (port < 0 || port > 65535) throw new CliUsageError(`--port must be in 0..65535 (got ${port})`);
  const host = optionalString(args, 'host') ?? '127.0.0.1';
  const modelsFlag = optionalString(args, 'models');
  const models = modelsFlag === undefined ? undefined : resolve(modelsFlag);
  if (models && !existsSync(models)) throw new CliUsageError(`--models: no folder ${models}`);
  const app = fileURLToPath(new URL('./app/', import.meta.url));
  if (!existsSync(resolve(app, 'index.html'))) throw new Error(`the app is not built (${app}index.html is missing): run npm run build`);
  const server = await serveStatic({ app, models }, port, host).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE') throw new CliUsageError(`port ${port} on ${host} is in use: choose another with --port (0: any free port)`);
    throw e;
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  console.log(`dsnot app: open http://${shown}:${actual}/${models ? ` (models from ${models} at /models/)` : ''}; Ctrl-C stops`);
  await new Promise<void>((done) => {
    const stop = () => {
      server.close(() => done());
      server.closeAllConnections(); // keep-alive connections would hold close() open
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
