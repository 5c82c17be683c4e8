// A small static file server for `dsnot app`: the built page (dist/app/) at /, and optionally a
// folder of models at /models/. Models are read by HTTP range requests (io/sources/url.ts), so
// Range gets a 206 with Content-Range (416 when unsatisfiable). Every response carries the
// cross-origin isolation headers (COOP/COEP/CORP): the page is then cross-origin isolated, as
// large WebAssembly memories and precise timers want. Nothing outside the roots is served.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
};

export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface StaticRoots {
  /** Served at /. */
  app: string;
  /** Served at /models/ (none: /models/ is 404). */
  models?: string;
}

/** The byte range a Range header asks of a `size`-byte file: null (whole file), or 'unsatisfiable'. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Multiple ranges or other units: serve the whole file, as RFC 9110 allows.
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/** The file a URL path names under the roots, or null (outside them, or not a file). */
export async function resolveFile(roots: StaticRoots, urlPath: string): Promise<string | null> {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (path.includes('\0')) return null;
  const inModels = path === '/models' || path.startsWith('/models/');
  const root = inModels ? roots.models : roots.app;
  if (!root) return null;
  const rel = inModels ? path.slice('/models'.length) : path;
  const base = await realpath(resolve(root)).catch(() => null);
  if (!base) return null;
  let file = resolve(base, `.${rel}`);
  if ((await stat(file).catch(() => null))?.isDirectory()) file = join(file, 'index.html');
  // realpath: a symbolic link inside the root may not lead out of it either.
  const real = await realpath(file).catch(() => null);
  if (!real || (real !== base && !real.startsWith(base + sep))) return null;
  return (await stat(real).catch(() => null))?.isFile() ? real : null;
}

async function handle(roots: StaticRoots, req: IncomingMessage, res: ServerResponse): Promise<void> {
  for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  const file = await resolveFile(roots, new URL(req.url ?? '/', 'http://x').pathname);
  if (!file) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  const { size, mtime } = await stat(file);
  res.setHeader('Content-Type', MIME[extname(file).toLowerCase()] ?? 'application/octet-stream');
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Last-Modified', mtime.toUTCString());
  res.setHeader('Cache-Control', 'no-cache');
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  res.writeHead(range ? 206 : 200, { 'Content-Length': String(size === 0 ? 0 : end - start + 1) });
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  createReadStream(file, { start, end }).on('error', () => res.destroy()).pipe(res);
}

/** Serve `roots` on host:port (port 0: any free port); resolves once listening. */
export function serveStatic(roots: StaticRoots, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    handle(roots, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      ok(server);
    });
  });
}
