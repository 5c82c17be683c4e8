// Typed access to config.json's fields, with errors naming the key and its value, and a record
// of every key read: a key nobody read and nobody listed as harmless (config-keys.ts) is
// refused, so that no field that changes the computation is ever silently ignored.
import { ConfigError } from '../io/errors.js';

export type ConfigObject = Record<string, unknown>;

export class ConfigReader {
  private readonly seen = new Set<string>();

  /** `where` prefixes messages: 'config.json' or 'config.json rope_parameters'. */
  constructor(readonly c: ConfigObject, readonly where = 'config.json') {}

  /** The raw value (marks the key as read). */
  get(key: string): unknown {
    this.seen.add(key);
    return Object.hasOwn(this.c, key) ? this.c[key] : undefined;
  }

  has(key: string): boolean {
    return Object.hasOwn(this.c, key) && this.c[key] !== null && this.c[key] !== undefined;
  }

  /** Keys of the object that no one has read. */
  unread(): string[] {
    return Object.keys(this.c).filter((k) => !this.seen.has(k));
  }

  error(key: string, problem: string): ConfigError {
    return new ConfigError(`${this.where}: ${key} ${problem}`);
  }

  string(key: string, fallback: string): string {
    const v = this.get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'string') throw this.error(key, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  positiveInt(key: string, fallback?: number): number {
    const v = this.get(key);
    if (v === undefined || v === null) {
      if (fallback === undefined) throw new ConfigError(`${this.where} is missing ${key}`);
      return fallback;
    }
    if (!Number.isSafeInteger(v) || (v as number) <= 0) throw this.error(key, `must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  }

  nonNegativeInt(key: string, fallback: number): number {
    const v = this.get(key);
    if (v === undefined || v === null) return fallback;
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw this.error(key, `must be a non-negative integer, got ${JSON.stringify(v)}`);
    return v as number;
  }

  optionalPositiveInt(key: string): number | null {
    const v = this.get(key);
    return v === undefined || v === null ? null : this.positiveInt(key);
  }

  /** A positive integer, or null when config.json says null; `fallback` (the class default) when absent. */
  nullablePositiveInt(key: string, fallback: number | null): number | null {
    if (Object.hasOwn(this.c, key) && this.c[key] === null) {
      this.get(key);
      return null;
    }
    return this.has(key) ? this.positiveInt(key) : (this.get(key), fallback);
  }

  /** A finite number > 0; `fallback` undefined makes it required. */
  positiveNumber(key: string, fallback?: number): number {
    const v = this.get(key);
    if (v === undefined || v === null) {
      if (fallback === undefined) throw new ConfigError(`${this.where} is missing ${key}`);
      return fallback;
    }
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw this.error(key, `must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  }

  optionalPositiveNumber(key: string): number | undefined {
    const v = this.get(key);
    return v === undefined || v === null ? undefined : this.positiveNumber(key);
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') throw this.error(key, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  objectOrNull(key: string): ConfigObject | null {
    const v = this.get(key);
    if (v === undefined || v === null) return null;
    if (typeof v !== 'object' || Array.isArray(v)) throw this.error(key, `must be an object or null, got ${JSON.stringify(v)}`);
    return { ...(v as ConfigObject) };
  }

  numberList(key: string, length: number): number[] {
    const v = this.get(key);
    if (v === undefined || v === null) throw new ConfigError(`${this.where} is missing ${key}`);
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
      throw this.error(key, `must be a list of positive numbers, got ${JSON.stringify(v)}`);
    }
    if (v.length !== length) throw this.error(key, `has ${v.length} entries, the rotary dimension needs ${length}`);
    return [...(v as number[])];
  }

  /** Token ids may be a number, null, or (eos in newer configs) a list: the first is taken. */
  tokenId(key: string): number | null {
    const v = this.get(key);
    const first = Array.isArray(v) ? v[0] : v;
    return Number.isSafeInteger(first) && (first as number) >= 0 ? (first as number) : null;
  }

  /** Refuse `key` unless its value (absent counts as `fallback`) is one this package computes. */
  expect(key: string, ok: (v: unknown) => boolean, why: string): void {
    const v = this.get(key);
    if (v !== undefined && v !== null && !ok(v)) throw this.error(key, `${JSON.stringify(v)} is not supported: ${why}`);
  }
}
