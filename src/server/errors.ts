// HTTP errors in OpenAI's shape ({"error":{"message","type","param","code"}}), the mapping from
// Tide's typed errors to a status, and the redaction of the server's paths. Knows nothing of routes or models.
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { ContextOverflowError, OptionError, TemplateError, TideError, TokenizerError } from '../errors.js';

export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found_error' | 'rate_limit_error' | 'server_error';

export class ApiError extends Error {
  constructor(readonly status: number, readonly type: ErrorType, message: string,
              readonly param: string | null = null, readonly code: string | null = null,
              readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
  }

  body(): { error: { message: string; type: ErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 for a request field that is missing, of the wrong type, or out of range. */
export const invalid = (param: string | null, message: string, code: string | null = 'invalid_value') =>
  new ApiError(400, 'invalid_request_error', message, param, code);

/**
 * Errors a request can cause map to 4xx (the caller's input was wrong); anything else is a bug or a
 * broken model, reported as a 500 without a stack.
 */
export function toApiError(e: unknown, param: string | null = null): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof ContextOverflowError) return invalid(param, e.message, 'context_length_exceeded');
  if (e instanceof OptionError || e instanceof TokenizerError || e instanceof TemplateError) {
    return invalid(param, e.message, e.code);
  }
  const message = e instanceof Error ? e.message : String(e);
  return new ApiError(500, 'server_error', message.split('\n')[0], null, e instanceof TideError ? e.code : 'internal_error');
}

/**
 * Error messages as clients may read them: each served model's directory (as given, when it has a
 * slash, and absolute) becomes its id, then the working and home directories become "." and "~".
 */
export function redactor(sources: { source: string; id: string }[]): (message: string) => string {
  const pairs: [string, string][] = [[process.cwd(), '.'], [homedir(), '~']];
  for (const { source, id } of sources) {
    pairs.push([resolve(source), id]);
    if (source.includes('/')) pairs.push([source, id]);
  }
  // The longest first (a model dir inside the working dir); never "/" alone (a server started in /).
  const ordered = pairs.filter(([path]) => path.length > 1).sort((a, b) => b[0].length - a[0].length);
  return (message) => ordered.reduce((m, [path, name]) => m.replaceAll(path, name), message);
}
