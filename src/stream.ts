// Incremental detokenisation: text is released only once the tokens behind it decode stably
// (no trailing partial UTF-8 character), like transformers' TextStreamer.
import type { TextTokenizer } from './tokenizer.js';

export class TextStream {
  private readonly ids: number[];
  private printed = 0;

  /** `context` ids are decoded with the new ones (so leading spaces come out right) but never emitted. */
  constructor(private readonly tokenizer: TextTokenizer, context: number[] = []) {
    this.ids = [...context];
    this.printed = context.length ? tokenizer.decode(this.ids).length : 0;
  }

  /** Add one id; returns the newly stable text ('' while a character is incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.tokenizer.decode(this.ids);
    if (text.endsWith('\uFFFD')) return '';
    const piece = text.slice(this.printed);
    this.printed = text.length;
    return piece;
  }

  /** Whatever is left at the end, replacement characters included. */
  flush(): string {
    const text = this.tokenizer.decode(this.ids);
    const piece = text.slice(this.printed);
    this.printed = text.length;
    return piece;
  }
}
