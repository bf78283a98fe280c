// Typed errors: one class per kind of bad input, each with a stable `code`.
// Messages are one line: where (file, then field or tensor), what, expected vs got.

export class TideError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A safetensors file whose header or layout is wrong. */
export class SafetensorsError extends TideError {
  constructor(message: string) { super('E_SAFETENSORS', message); }
}
/** config.json / generation_config.json missing a field, or holding something unsupported. */
export class ConfigError extends TideError {
  constructor(message: string) { super('E_CONFIG', message); }
}
/** A tensor or buffer whose shape disagrees with what the model spec says. */
export class ShapeError extends TideError {
  constructor(message: string) { super('E_SHAPE', message); }
}
/** A dtype Tide cannot read. */
export class DtypeError extends TideError {
  constructor(message: string) { super('E_DTYPE', message); }
}
/** Token ids outside the vocabulary, or a tokenizer file that cannot be used. */
export class TokenizerError extends TideError {
  constructor(message: string) { super('E_TOKENIZER', message); }
}
/** A chat template that fails to render or raises. */
export class TemplateError extends TideError {
  constructor(message: string) { super('E_TEMPLATE', message); }
}
/** More tokens than the session's context length. */
export class ContextOverflowError extends TideError {
  constructor(message: string) { super('E_CONTEXT', message); }
}
/** A memory plan that does not fit the budget or wasm32's 4 GiB. */
export class MemoryBudgetError extends TideError {
  constructor(message: string) { super('E_MEMORY', message); }
}
/** A file or URL that cannot be read. */
export class SourceError extends TideError {
  constructor(message: string) { super('E_SOURCE', message); }
}
/** A bad option passed by the caller (sampling parameters, thread counts, ...). */
export class OptionError extends TideError {
  constructor(message: string) { super('E_OPTION', message); }
}
