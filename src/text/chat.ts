// Chat templates: tokenizer_config.json's `chat_template` (or chat_template.jinja) rendered with
// @huggingface/jinja the way transformers' apply_chat_template renders it (special tokens as strings,
// raise_exception, strftime_now, tools, any other keyword as a variable), within step and size bounds.
import { Template } from '@huggingface/jinja';
import { OptionError, TemplateError } from '../errors.js';
import { renderProgram, TEMPLATE_LIMITS, type TemplateLimits } from './template-runtime.js';
import type { TextTokenizer } from './tokenizer.js';

export { TEMPLATE_LIMITS, type TemplateLimits };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | (string & {});
  content: string;
  /** Any other field (tool_calls, name, ...) is passed to the template unchanged. */
  [field: string]: unknown;
}

export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn (default true). */
  addGenerationPrompt?: boolean;
  /** Passed through to the template as `tools` / `documents`. */
  tools?: unknown[];
  documents?: unknown[];
  /** Which of a list of named templates (default: "tool_use" when tools are given and it exists, else "default"). */
  templateName?: string;
  /** The time strftime_now() formats (default: the current time); a fixed one makes prompts reproducible. */
  clock?: () => Date;
  /** Bounds on the work and text of one rendering (default TEMPLATE_LIMITS). */
  limits?: TemplateLimits;
  /**
   * Any other key is a template variable, as keyword arguments of transformers' apply_chat_template:
   * `enable_thinking: false` (Qwen3, SmolLM3), `date_string`, `xml_tools`, ...
   */
  [variable: string]: unknown;
}

// ChatTemplateOptions' own keys; every other key is a template variable.
const OPTION_KEYS = new Set(['addGenerationPrompt', 'tools', 'documents', 'templateName', 'clock', 'limits']);

/**
 * Template variables from JSON (a request's chat_template_kwargs, a messages file) as chat options: an
 * object whose keys are not the options' own (so JSON cannot set the clock or the limits). `where` names it in errors.
 */
export function templateVariables(json: unknown, where: string): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new OptionError(`${where}: expected an object of template variables, got ${JSON.stringify(json)}`);
  for (const k of Object.keys(json)) if (OPTION_KEYS.has(k)) throw new OptionError(`${where}.${k}: a chat option, not a template variable`);
  return json as Record<string, unknown>;
}

/** Roles a message may have; others are rejected before rendering. */
export const CHAT_ROLES = ['system', 'user', 'assistant', 'tool', 'developer', 'ipython'];

const SPECIAL_TOKENS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

export class ChatTemplate {
  private readonly templates: Map<string, { source: string; compiled?: Template['parsed'] }>;
  private readonly specialTokens: Record<string, unknown>;

  /** `config` is tokenizer_config.json; `label` names it in errors. */
  constructor(config: Record<string, unknown>, readonly label = 'tokenizer_config.json') {
    this.templates = readTemplates(config.chat_template, label);
    // As transformers' special_tokens_map: unset (null) tokens are left out, so templates see them undefined;
    // extra_special_tokens ({"image_token": ...}, Gemma 3) are variables of their own.
    this.specialTokens = {};
    for (const k of SPECIAL_TOKENS) if (config[k] != null) this.specialTokens[k] = tokenContent(config[k]);
    if (Array.isArray(config.additional_special_tokens)) {
      this.specialTokens.additional_special_tokens = config.additional_special_tokens.map(tokenContent);
    }
    const extra = config.extra_special_tokens;
    if (typeof extra === 'object' && extra !== null && !Array.isArray(extra)) {
      for (const [k, v] of Object.entries(extra)) this.specialTokens[k] = tokenContent(v);
    }
  }

  /** The template of a tokenizer_config.json, or undefined when it has none. */
  static fromConfig(config: Record<string, unknown>, label?: string): ChatTemplate | undefined {
    return config.chat_template == null ? undefined : new ChatTemplate(config, label);
  }

  /**
   * The template of a model's tokenizer files: chat_template.jinja's text when there is one (it replaces
   * tokenizer_config.json's chat_template, as in transformers), else the config's; undefined when neither
   * has one. `dir` (a path ending in "/", or "") names the files in errors.
   */
  static fromFiles(config: Record<string, unknown>, jinja: string | undefined, dir = ''): ChatTemplate | undefined {
    if (jinja !== undefined) return new ChatTemplate({ ...config, chat_template: jinja }, `${dir}chat_template.jinja`);
    return ChatTemplate.fromConfig(config, `${dir}tokenizer_config.json`);
  }

  /** The template of a loaded tokenizer (fromFiles over the files it was read from), built once. */
  static of(tok: TextTokenizer): ChatTemplate | undefined {
    if (!ofTokenizer.has(tok)) ofTokenizer.set(tok, ChatTemplate.fromFiles(tok.config, tok.chatTemplateFile, tok.label.replace(/tokenizer\.json$/, '')));
    return ofTokenizer.get(tok);
  }

  /** The prompt text for `messages` (to be encoded without adding special tokens, as transformers does). */
  render(messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
    checkMessages(messages);
    const { addGenerationPrompt = true, tools, documents, templateName, clock = () => new Date(), limits = TEMPLATE_LIMITS, ...variables } = opts;
    const name = templateName ?? (tools && this.templates.has('tool_use') ? 'tool_use' : 'default');
    const t = this.templates.get(name);
    if (!t) throw new TemplateError(`${this.label}: chat_template: no template named "${name}"; have ${[...this.templates.keys()].join(', ')}`);
    try {
      t.compiled ??= new Template(t.source).parsed;
    } catch (e) {
      throw new TemplateError(`${this.label}: chat_template "${name}" does not parse: ${(e as Error).message}`);
    }
    // raise_exception throws this very object, so it is told apart from the interpreter's own errors.
    const raised = new Error();
    const raise = (message: string): never => { raised.message = String(message); throw raised; };
    try {
      return renderProgram(t.compiled, {
        // transformers passes tools and documents always, None when not given.
        ...this.specialTokens, ...variables, messages, add_generation_prompt: addGenerationPrompt, tools: tools ?? null, documents: documents ?? null,
      }, { clock, limits, raise });
    } catch (e) {
      if (e === raised) throw new TemplateError(`${this.label}: chat template raised: ${raised.message}`);
      throw new TemplateError(`${this.label}: chat template "${name}" failed: ${(e as Error).message}`);
    }
  }
}

const ofTokenizer = new WeakMap<TextTokenizer, ChatTemplate | undefined>();

function readTemplates(v: unknown, label: string): Map<string, { source: string }> {
  if (typeof v === 'string') return new Map([['default', { source: v }]]);
  if (Array.isArray(v) && v.every((t) => typeof t?.name === 'string' && typeof t?.template === 'string')) {
    return new Map(v.map((t) => [t.name, { source: t.template }]));
  }
  throw new TemplateError(`${label}: chat_template: expected a string or a list of {name, template}, got ${JSON.stringify(v)?.slice(0, 60)}`);
}

/** AddedToken objects ({"__type": "AddedToken", "content": ...}) reduce to their content. */
function tokenContent(v: unknown): unknown {
  return typeof v === 'object' && v !== null && 'content' in v ? (v as { content: unknown }).content : v;
}

function checkMessages(messages: ChatMessage[]): void {
  if (!Array.isArray(messages) || messages.length === 0) throw new OptionError('messages: expected a non-empty list of {role, content}');
  messages.forEach((m, i) => {
    if (typeof m !== 'object' || m === null) throw new OptionError(`messages[${i}]: expected {role, content}, got ${JSON.stringify(m)}`);
    if (!CHAT_ROLES.includes(m.role)) throw new OptionError(`messages[${i}].role "${m.role}": expected one of ${CHAT_ROLES.join(', ')}`);
    const toolCall = m.role === 'assistant' && Array.isArray(m.tool_calls);
    if (typeof m.content !== 'string' && !(toolCall && m.content == null)) {
      throw new OptionError(`messages[${i}].content: expected a string, got ${m.content === null ? 'null' : typeof m.content}`);
    }
  });
}
