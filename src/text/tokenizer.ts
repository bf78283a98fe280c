// Text ↔ ids through @huggingface/tokenizers, from a model's tokenizer.json and tokenizer_config.json.
import { Tokenizer } from '@huggingface/tokenizers';
import { TokenizerError } from '../errors.js';
import type { ModelFiles } from '../sources/sources.js';

type Json = Record<string, unknown>;

export class TextTokenizer {
  private readonly tok: Tokenizer;

  /** `config` is tokenizer_config.json (special tokens, chat_template); `label` names the files in errors. */
  constructor(json: Json, readonly config: Json, readonly label = 'tokenizer.json') {
    try {
      this.tok = new Tokenizer(json, config);
    } catch (e) {
      throw new TokenizerError(`${label}: cannot build the tokenizer: ${(e as Error).message}`);
    }
  }

  static parse(jsonText: string, configText: string | undefined, label: string): TextTokenizer {
    return new TextTokenizer(parseJson(jsonText, label), configText ? parseJson(configText, label.replace(/tokenizer\.json$/, 'tokenizer_config.json')) : {}, label);
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
    throw new TokenizerError(`${label}: not valid JSON: ${(e as Error).message}`);
  }
}

/** A model's tokenizer.json with its tokenizer_config.json, when it has them. */
export async function readTokenizer(files: ModelFiles): Promise<TextTokenizer | undefined> {
  const text = await files.text('tokenizer.json');
  return text === undefined ? undefined
    : TextTokenizer.parse(text, await files.text('tokenizer_config.json'), `${files.label}/tokenizer.json`);
}
