// Text ↔ ids through @huggingface/tokenizers, from a model's tokenizer.json and tokenizer_config.json.
import { Tokenizer } from '@huggingface/tokenizers';
import { TokenizerError } from '../errors.js';
import { jsonFault } from '../formats/json.js';
import type { ModelFiles } from '../sources/sources.js';

type Json = Record<string, unknown>;

export class TextTokenizer {
  private readonly tok: Tokenizer;

  /**
   * `config` is tokenizer_config.json (special tokens, chat_template); `label` names the files in errors;
   * `chatTemplateFile` is chat_template.jinja's text, where newer models keep their chat template.
   */
  constructor(json: Json, readonly config: Json, readonly label = 'tokenizer.json', readonly chatTemplateFile?: string) {
    try {
      this.tok = new Tokenizer(json, config);
    } catch (e) {
      throw new TokenizerError(`${label}: cannot build the tokenizer: ${(e as Error).message}`);
    }
  }

  static parse(jsonText: string, configText: string | undefined, label: string, chatTemplateFile?: string): TextTokenizer {
    const config = configText ? parseJson(configText, label.replace(/tokenizer\.json$/, 'tokenizer_config.json')) : {};
    return new TextTokenizer(parseJson(jsonText, label), config, label, chatTemplateFile);
  }

  /** A model's tokenizer: tokenizer.json, tokenizer_config.json and chat_template.jinja; undefined without tokenizer.json. */
  static async read(files: ModelFiles): Promise<TextTokenizer | undefined> {
    const json = await files.text('tokenizer.json');
    if (json === undefined) return undefined;
    const config = await files.text('tokenizer_config.json');
    return TextTokenizer.parse(json, config, `${files.label}/tokenizer.json`, await files.text('chat_template.jinja'));
  }

  /** Ids for `text`, with the model's special tokens (e.g. BOS) unless addSpecialTokens is false. */
  encode(text: string, { addSpecialTokens = true } = {}): number[] {
    return this.tok.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  /** Text for `ids`; special tokens (BOS, EOS, ...) are dropped unless skipSpecialTokens is false. */
  decode(ids: ArrayLike<number>, { skipSpecialTokens = true } = {}): string {
    // @huggingface/tokenizers throws on an empty list; no ids is simply no text.
    if (ids.length === 0) return '';
    return this.tok.decode(Array.from(ids), { skip_special_tokens: skipSpecialTokens });
  }

  idToToken(id: number): string | undefined { return this.tok.id_to_token(id); }
  tokenToId(token: string): number | undefined { return this.tok.token_to_id(token); }
}

function parseJson(text: string, label: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new TokenizerError(`${label}: not valid JSON (${jsonFault(e)})`);
  }
}
