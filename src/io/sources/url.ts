// A model behind http(s): every read is an HTTP Range request, so a tensor costs its own bytes.
//
// A URL ending in '/' is a folder (files are resolved against it); any other URL is one file
// (its siblings are resolved against its folder). HTTP cannot list a folder, so list() returns
// the well-known Hugging Face file names that exist there; shards are found through the index.
//
// Servers that ignore Range (answer 200 with the whole body) are detected on the first request
// to each file. Such a file is then downloaded once into memory, if it is at most
// `maxUnrangedBytes` (default 1 GiB), with a warning; a larger one is refused with an error
// telling the user to download it first, rather than fetching gigabytes per tensor.
import { SourceError } from '../errors.js';
import { assertPlainFileName, checkRange, type OpenSourceOptions, type ReadOptions, type Source } from '../source.js';

export const WELL_KNOWN_FILES = [
  'config.json', 'generation_config.json',
  'model.safetensors', 'model.safetensors.index.json',
  'tokenizer.json', 'tokenizer_config.json', 'tokenizer.model', 'special_tokens_map.json',
  'vocab.json', 'merges.txt', 'added_tokens.json', 'tokenizer.bin',
];

interface Probe {
  size: number;
  /** Whether the server honours Range for this file. */
  ranged: boolean;
}

export class UrlSource implements Source {
  readonly location: string;
  readonly entry: string | null;
  private readonly base: URL;
  private readonly fetch: typeof fetch;
  private readonly headers: Record<string, string>;
  private readonly maxUnranged: number;
  private readonly warn: (message: string) => void;
  private readonly probes = new Map<string, Promise<Probe | null>>();
  private readonly bodies = new Map<string, Promise<Uint8Array>>();

  constructor(url: URL, options: OpenSourceOptions = {}) {
    if (!options.fetch && typeof globalThis.fetch !== 'function') throw new SourceError(`no fetch available to read ${url.href}: pass options.fetch`);
    // Called through globalThis, never as this.fetch(): a Worker's fetch called with another
    // `this` throws "Illegal invocation".
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.headers = { ...options.headers };
    this.maxUnranged = options.maxUnrangedBytes ?? 2 ** 30;
    this.warn = options.onWarning ?? ((m) => console.warn(m));
    this.location = url.href;
    if (url.pathname.endsWith('/')) {
      this.base = new URL(url.href);
      this.entry = null;
    } else {
      const name = decodeURIComponent(url.pathname.slice(url.pathname.lastIndexOf('/') + 1));
      this.base = new URL('./', url);
      this.base.search = url.search; // keep query-string auth (signed URLs) for siblings
      this.entry = name;
    }
  }

  async list(): Promise<string[]> {
    const names = new Set(WELL_KNOWN_FILES);
    if (this.entry) names.add(this.entry);
    const found = await Promise.all([...names].map(async (n) => ((await this.size(n)) === null ? null : n)));
    return found.filter((n): n is string => n !== null).sort();
  }

  async size(file: string): Promise<number | null> {
    return (await this.probe(file))?.size ?? null;
  }

  async read(file: string, offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted();
    const p = await this.probe(file, options?.signal);
    if (!p) throw new SourceError(`${this.urlOf(file).href}: not found`);
    checkRange(this.location, file, p.size, offset, length);
    if (length === 0) return new Uint8Array(0);
    if (!p.ranged) return (await this.wholeBody(file, p.size, options?.signal)).slice(offset, offset + length);
    const url = this.urlOf(file);
    const res = await this.get(url, `bytes=${offset}-${offset + length - 1}`, options?.signal);
    if (res.status === 200) {
      // The server stopped honouring Range for this file: treat it like one that never did.
      await res.body?.cancel();
      p.ranged = false;
      return (await this.wholeBody(file, p.size, options?.signal)).slice(offset, offset + length);
    }
    if (res.status !== 206) {
      await res.body?.cancel();
      throw new SourceError(`${url.href}: HTTP ${res.status} for bytes ${offset}-${offset + length - 1}`);
    }
    const range = parseContentRange(res.headers.get('content-range'));
    if (!range || range.start !== offset || range.end !== offset + length - 1) {
      await res.body?.cancel();
      throw new SourceError(`${url.href}: asked for bytes ${offset}-${offset + length - 1}, server sent range ${res.headers.get('content-range')}`);
    }
    return readExactly(res, length, url.href);
  }

  async close(): Promise<void> {
    this.bodies.clear();
    this.probes.clear();
  }

  private urlOf(file: string): URL {
    assertPlainFileName(file, this.location);
    const u = new URL(encodeURIComponent(file), this.base);
    u.search = this.base.search;
    return u;
  }

  private get(url: URL, range: string | null, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { ...this.headers };
    // Ask for the bytes as stored: a compressed response's ranges would not be the file's.
    headers['accept-encoding'] = 'identity';
    if (range) headers.range = range;
    return this.fetch(url.href, { headers, signal }).catch((e: Error) => {
      if (e?.name === 'AbortError') throw e;
      throw new SourceError(`${url.href}: request failed (${e?.message ?? String(e)})`);
    });
  }

  /** First request to a file: one byte by Range, which tells both the size and Range support. */
  private probe(file: string, signal?: AbortSignal): Promise<Probe | null> {
    let p = this.probes.get(file);
    if (!p) {
      const url = this.urlOf(file);
      p = (async (): Promise<Probe | null> => {
        const res = await this.get(url, 'bytes=0-0', signal);
        await res.body?.cancel();
        if (res.status === 404 || res.status === 410) return null;
        if (res.status === 206) {
          const range = parseContentRange(res.headers.get('content-range'));
          if (!range || range.total === null) {
            throw new SourceError(`${url.href}: server answered a Range request without the file size (Content-Range ${res.headers.get('content-range')})`);
          }
          return { size: range.total, ranged: true };
        }
        if (res.status === 416) {
          // bytes=0-0 is unsatisfiable only for an empty file: Content-Range "bytes */0".
          const m = /^bytes \*\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
          if (m) return { size: Number(m[1]), ranged: true };
        }
        if (res.status === 200) {
          const len = Number(res.headers.get('content-length'));
          if (!Number.isSafeInteger(len) || len < 0) {
            throw new SourceError(`${url.href}: server ignores Range requests and sends no Content-Length: cannot read it in parts`);
          }
          return { size: len, ranged: false };
        }
        throw new SourceError(`${url.href}: HTTP ${res.status}`);
      })();
      p.catch(() => this.probes.delete(file));
      this.probes.set(file, p);
    }
    return p;
  }

  private wholeBody(file: string, size: number, signal?: AbortSignal): Promise<Uint8Array> {
    let body = this.bodies.get(file);
    if (!body) {
      const url = this.urlOf(file);
      if (size > this.maxUnranged) {
        throw new SourceError(
          `${url.href}: the server ignores HTTP Range requests and the file is ${size} bytes, more than the ${this.maxUnranged} bytes (maxUnrangedBytes) allowed in memory: download it and open the folder instead`,
        );
      }
      this.warn(`dsnot: ${url.href}: the server ignores HTTP Range requests; reading the whole ${size}-byte file into memory once`);
      body = this.get(url, null, signal).then(async (res) => {
        if (res.status !== 200 && res.status !== 206) {
          await res.body?.cancel();
          throw new SourceError(`${url.href}: HTTP ${res.status}`);
        }
        return readExactly(res, size, url.href);
      });
      body.catch(() => this.bodies.delete(file));
      this.bodies.set(file, body);
    }
    return body;
  }
}

/** `bytes START-END/TOTAL` (TOTAL may be '*'). */
function parseContentRange(h: string | null): { start: number; end: number; total: number | null } | null {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(h?.trim() ?? '');
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

/** Read exactly `length` body bytes into one buffer; a server that sends more or less is an error. */
async function readExactly(res: Response, length: number, where: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  if (!res.body) {
    if (length === 0) return out;
    throw new SourceError(`${where}: response has no body`);
  }
  const reader = res.body.getReader();
  let done = 0;
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    if (done + value.length > length) {
      await reader.cancel();
      throw new SourceError(`${where}: server sent more than the ${length} bytes asked for`);
    }
    out.set(value, done);
    done += value.length;
  }
  if (done !== length) throw new SourceError(`${where}: connection ended after ${done} of ${length} bytes`);
  return out;
}
