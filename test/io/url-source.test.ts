// The URL source against a local HTTP server: one that honours Range, one that ignores it (200
// with the whole body), and ones that misbehave.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/io/errors.js';
import { openModel } from '../../src/io/model.js';
import { openSource } from '../../src/io/source.js';

const ROOT = 'test/fixtures';

type Mode = 'range' | 'ignore-range' | 'wrong-range' | 'long-body' | 'auth';

interface Log {
  requests: Array<{ path: string; range: string | undefined }>;
  bytesSent: number;
}

function serve(mode: Mode, log: Log) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    log.requests.push({ path, range: req.headers.range });
    if (mode === 'auth' && req.headers.authorization !== 'Bearer secret') {
      res.writeHead(401).end();
      return;
    }
    const file = join(ROOT, path);
    if (path.includes('..') || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = readFileSync(file);
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!m || mode === 'ignore-range') {
      log.bytesSent += body.length;
      res.writeHead(200, { 'content-length': body.length }).end(body);
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), body.length - 1);
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    const shift = mode === 'wrong-range' && start > 0 ? 1 : 0;
    const part = mode === 'long-body' && start > 0 ? body.subarray(start) : body.subarray(start + shift, end + 1 + shift);
    log.bytesSent += part.length;
    res.writeHead(206, { 'content-range': `bytes ${start + shift}-${end + shift}/${body.length}` });
    res.end(part);
  };
}

const servers: Record<Mode, { server: Server; url: string; log: Log }> = {} as never;

beforeAll(async () => {
  for (const mode of ['range', 'ignore-range', 'wrong-range', 'long-body', 'auth'] as Mode[]) {
    const log: Log = { requests: [], bytesSent: 0 };
    const server = createServer(serve(mode, log));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers[mode] = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, log };
  }
});
afterAll(async () => {
  for (const { server } of Object.values(servers)) await new Promise((r) => server.close(r));
});

function reset(log: Log): void {
  log.requests.length = 0;
  log.bytesSent = 0;
}

/** Every tensor of a model opened by URL equals the one opened from disk. */
async function sameAsDisk(url: string, onWarning?: (m: string) => void): Promise<void> {
  const remote = await openModel(url, { onWarning });
  const local = await openModel(join(ROOT, 'stories260K-hf'));
  expect(remote.spec).toEqual(local.spec);
  expect(remote.sideFiles).toEqual(local.sideFiles);
  for (const t of local.reader.tensors) {
    const a = await remote.reader.readBytes(t.name);
    expect(Buffer.from(a).equals(Buffer.from(await local.reader.readBytes(t.name))), t.name).toBe(true);
  }
  await remote.close();
  await local.close();
}

describe('URL source', () => {
  it('reads a model folder with Range requests only, never the whole weights file', async () => {
    const { url, log } = servers.range;
    reset(log);
    const warnings: string[] = [];
    await sameAsDisk(`${url}stories260K-hf/`, (m) => warnings.push(m));
    expect(warnings).toEqual([]);
    const weights = log.requests.filter((r) => r.path.endsWith('model.safetensors'));
    expect(weights.length).toBeGreaterThan(47);
    expect(weights.every((r) => r.range !== undefined)).toBe(true);
    // Bytes served: the weights once (one read per tensor) plus headers and small files.
    expect(log.bytesSent).toBeLessThan(statSync(join(ROOT, 'stories260K-hf/model.safetensors')).size + 20_000);
  });

  it('detects a server that ignores Range, warns once per file, and reads each file once', async () => {
    const { url, log } = servers['ignore-range'];
    reset(log);
    const warnings: string[] = [];
    await sameAsDisk(`${url}stories260K-hf/`, (m) => warnings.push(m));
    expect(warnings.some((w) => /model\.safetensors.*ignores HTTP Range/.test(w))).toBe(true);
    expect(new Set(warnings).size).toBe(warnings.length);
    const fullReads = log.requests.filter((r) => r.path.endsWith('model.safetensors') && r.range === undefined);
    expect(fullReads.length).toBe(1);
  });

  it('refuses a Range-ignoring server for a file above maxUnrangedBytes, with a clear error', async () => {
    const src = await openSource(`${servers['ignore-range'].url}stories260K-hf/`, { maxUnrangedBytes: 100_000, onWarning: () => {} });
    await expect(src.read('model.safetensors', 0, 8)).rejects.toThrow(/ignores HTTP Range.*maxUnrangedBytes/);
    await src.close();
  });

  it('opens a llama2.c checkpoint by file URL (siblings resolved beside it)', async () => {
    const m = await openModel(`${servers.range.url}stories260K/stories260K.bin`);
    expect(m.format).toBe('llama2c');
    // HTTP cannot list the folder: only well-known names are probed, and tok512.bin is not one.
    expect(m.llama2cTokenizerFile).toBeNull();
    const local = await openModel(join(ROOT, 'stories260K/stories260K.bin'));
    const name = 'model.layers.4.self_attn.k_proj.weight';
    expect(Buffer.from(await m.reader.readBytes(name)).equals(Buffer.from(await local.reader.readBytes(name)))).toBe(true);
    await m.close();
    await local.close();
  });

  it('lists only files that exist, reports sizes, null for missing', async () => {
    const src = await openSource(new URL(`${servers.range.url}stories260K-hf/`));
    expect(await src.list()).toEqual(['config.json', 'model.safetensors', 'tokenizer.model', 'tokenizer_config.json']);
    expect(await src.size('model.safetensors')).toBe(1_044_992);
    expect(await src.size('nope.json')).toBeNull();
    await expect(src.read('../stories260K/tok512.bin', 0, 4)).rejects.toThrow(/plain file name/);
    await expect(src.read('model.safetensors', 1_044_990, 4)).rejects.toThrow(/runs past the end/);
    expect(await src.read('config.json', 0, 0)).toEqual(new Uint8Array(0));
    await src.close();
  });

  it('sends the caller\'s headers through the caller\'s fetch', async () => {
    const { url } = servers.auth;
    let calls = 0;
    const countingFetch: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const bad = await openSource(`${url}stories260K-hf/`, { fetch: countingFetch });
    await expect(bad.size('config.json')).rejects.toThrow(/HTTP 401/);
    const good = await openSource(`${url}stories260K-hf/`, { fetch: countingFetch, headers: { Authorization: 'Bearer secret' } });
    expect(await good.size('config.json')).toBe(486);
    expect(new TextDecoder().decode(await good.read('config.json', 0, 486))).toBe(readFileSync(join(ROOT, 'stories260K-hf/config.json'), 'utf8'));
    expect(calls).toBeGreaterThanOrEqual(3);
  });

  it('rejects a server that answers the wrong range or sends too many bytes', async () => {
    for (const mode of ['wrong-range', 'long-body'] as const) {
      const src = await openSource(`${servers[mode].url}stories260K-hf/`);
      await expect(src.read('model.safetensors', 100, 50), mode).rejects.toThrow(SourceError);
      await expect(src.read('model.safetensors', 100, 50), mode).rejects.toThrow(mode === 'wrong-range' ? /server sent range/ : /more than the 50 bytes/);
      await src.close();
    }
  });

  it('an unreachable server is a SourceError naming the URL', async () => {
    const src = await openSource('http://127.0.0.1:1/model/');
    await expect(src.size('config.json')).rejects.toThrow(/127\.0\.0\.1:1\/model\/config\.json: request failed/);
  });
});
