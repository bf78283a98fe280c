// Chat templates: tokenizer_config.json's `chat_template` rendered with @huggingface/jinja the way
// transformers' apply_chat_template renders it (special tokens as strings, raise_exception, tools).
import { parse, Template, tokenize } from '@huggingface/jinja';
import { OptionError, TemplateError } from '../errors.js';

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
  /** More variables for the template (e.g. Qwen3's enable_thinking). */
  variables?: Record<string, unknown>;
}

/** Roles a message may have; others are rejected before rendering. */
export const CHAT_ROLES = ['system', 'user', 'assistant', 'tool', 'developer', 'ipython'];

const SPECIAL_TOKENS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

export class ChatTemplate {
  private readonly templates: Map<string, { source: string; compiled?: Template }>;
  private readonly specialTokens: Record<string, unknown>;

  /** `config` is tokenizer_config.json; `label` names it in errors. */
  constructor(config: Record<string, unknown>, readonly label = 'tokenizer_config.json') {
    this.templates = readTemplates(config.chat_template, label);
    this.specialTokens = {};
    for (const k of SPECIAL_TOKENS) if (k in config) this.specialTokens[k] = tokenContent(config[k]);
    if (Array.isArray(config.additional_special_tokens)) {
      this.specialTokens.additional_special_tokens = config.additional_special_tokens.map(tokenContent);
    }
  }

  /** The template of a tokenizer_config.json, or undefined when it has none. */
  static fromConfig(config: Record<string, unknown>, label?: string): ChatTemplate | undefined {
    return config.chat_template == null ? undefined : new ChatTemplate(config, label);
  }

  /** The prompt text for `messages` (to be encoded without adding special tokens, as transformers does). */
  render(messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
    checkMessages(messages);
    const name = opts.templateName ?? (opts.tools && this.templates.has('tool_use') ? 'tool_use' : 'default');
    const t = this.templates.get(name);
    if (!t) throw new TemplateError(`${this.label}: chat_template: no template named "${name}"; have ${[...this.templates.keys()].join(', ')}`);
    try {
      t.compiled ??= compile(t.source);
    } catch (e) {
      throw new TemplateError(`${this.label}: chat_template "${name}" does not parse: ${(e as Error).message}`);
    }
    const raised = new Error();
    try {
      return t.compiled.render({
        ...this.specialTokens,
        ...opts.variables,
        messages,
        add_generation_prompt: opts.addGenerationPrompt ?? true,
        tools: opts.tools,
        documents: opts.documents,
        [RAISE]: (message: string) => { raised.message = String(message); throw raised; },
      });
    } catch (e) {
      if (e === raised) throw new TemplateError(`${this.label}: chat template raised: ${raised.message}`);
      throw new TemplateError(`${this.label}: chat template "${name}" failed: ${(e as Error).message}`);
    }
  }
}

// @huggingface/jinja's own raise_exception throws a plain Error, indistinguishable from its other errors,
// and a global cannot be redeclared; so calls to it are renamed to ours at the token level.
const RAISE = '__tide_raise_exception';

function compile(source: string): Template {
  const tokens = tokenize(source, { lstrip_blocks: true, trim_blocks: true }); // as Template's constructor
  for (const tok of tokens) if (tok.type === 'Identifier' && tok.value === 'raise_exception') tok.value = RAISE;
  const t = new Template('');
  t.parsed = parse(tokens);
  return t;
}

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
