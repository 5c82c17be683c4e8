// Typed errors of model I/O. Every message names the file (or URL) and the problem, so a
// user can act on it without a stack trace. `instanceof ModelIOError` catches them all.
export class ModelIOError extends Error {
  override name = 'ModelIOError';
}

/** A source cannot be opened or read (missing file, HTTP error, short read, bad file name). */
export class SourceError extends ModelIOError {
  override name = 'SourceError';
}

/** A llama2.c checkpoint (`.bin`) is malformed or of an unsupported version. */
export class Llama2cError extends ModelIOError {
  override name = 'Llama2cError';
}

/** A llama2.c tokenizer file (`tok*.bin`, `tokenizer.bin`) is malformed. */
export class TokenizerError extends ModelIOError {
  override name = 'TokenizerError';
}

/** `config.json` is missing a field, has a bad value, or names an unsupported architecture. */
export class ConfigError extends ModelIOError {
  override name = 'ConfigError';
}

/** The writer was given a tensor it did not plan for, wrong bytes, or was interrupted. */
export class WriterError extends ModelIOError {
  override name = 'WriterError';
}
