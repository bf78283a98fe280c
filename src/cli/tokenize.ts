// tide tokenize: the ids of a text under a tokenizer directory (tokenizer.json + tokenizer_config.json).
import type { Command } from 'commander';
import { readTokenizer } from './prompt.js';

export function register(program: Command): void {
  program.command('tokenize').description('encode text to token ids (with the tokenizer\'s special tokens, e.g. BOS)')
    .argument('<dir>', 'a model or tokenizer directory (tokenizer.json, tokenizer_config.json)')
    .requiredOption('--text <text>', 'the text to encode')
    .option('--tokenizer <dir>', 'read tokenizer.json from this directory instead')
    .option('--no-special-tokens', 'do not add special tokens (BOS/EOS)')
    .option('--json', 'print {"ids":[...]}')
    .action(async (dir: string, o) => {
      const tok = await readTokenizer(dir, o.tokenizer);
      const ids = tok.encode(o.text, { addSpecialTokens: o.specialTokens });
      if (o.json) console.log(JSON.stringify({ ids }));
      else console.log(ids.map((id) => `${id}\t${JSON.stringify(tok.idToToken(id))}`).join('\n'));
    });
}
