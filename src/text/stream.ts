// Incremental detokenisation and stop strings. Text is released the way transformers' TextStreamer
// releases it: whole words (up to the last space), a line at a newline, at once after a CJK character,
// never with a trailing partial UTF-8 character; a stop string is cut before it is ever released.
import type { TextTokenizer } from './tokenizer.js';

export class TextStream {
  private ids: number[];
  private printed = 0; // characters of decode(ids) already released

  /** `context` ids are decoded with the new ones (so leading spaces come out right) but never emitted. */
  constructor(private readonly tokenizer: TextTokenizer, context: number[] = []) {
    // One token of context is enough for the tokenizers' decoders (SentencePiece's leading-space rule).
    this.ids = context.slice(-1);
    this.printed = this.tokenizer.decode(this.ids).length;
  }

  /** Add one id; returns the newly stable text ('' while a word or a character is incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.tokenizer.decode(this.ids);
    let end: number;
    if (text.endsWith('\n')) end = text.length;
    else if (text.length && isCjk(text.codePointAt(text.length - 1 - (isLowSurrogate(text, text.length - 1) ? 1 : 0))!)) end = text.length;
    else end = text.lastIndexOf(' ') + 1;
    // A partial character decodes as a trailing U+FFFD, never followed by a space or newline: held back.
    if (end <= this.printed) return '';
    const piece = text.slice(this.printed, end);
    this.printed = end;
    if (text.endsWith('\n')) { // restart the window, keeping the last token as context
      this.ids = this.ids.slice(-1);
      this.printed = this.tokenizer.decode(this.ids).length;
    }
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

/** Holds back text that may be the start of a stop string; reports the text before the first match. */
export class StopMatcher {
  private held = '';

  constructor(readonly stops: string[]) {}

  /** Text safe to release now, and whether a stop string has been completed (text after it is dropped). */
  push(piece: string): { text: string; stopped: boolean } {
    const s = this.held + piece;
    let cut = -1;
    for (const stop of this.stops) {
      const i = s.indexOf(stop);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) { this.held = ''; return { text: s.slice(0, cut), stopped: true }; }
    const keep = this.partialSuffix(s);
    this.held = s.slice(s.length - keep);
    return { text: s.slice(0, s.length - keep), stopped: false };
  }

  /** The held-back text, at the end of generation. */
  flush(): string {
    const s = this.held;
    this.held = '';
    return s;
  }

  /** Length of the longest suffix of `s` that is a proper prefix of a stop string. */
  private partialSuffix(s: string): number {
    let best = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, s.length); n > best; n--) {
        if (s.endsWith(stop.slice(0, n))) { best = n; break; }
      }
    }
    return best;
  }
}

const isLowSurrogate = (s: string, i: number) => i > 0 && s.charCodeAt(i) >= 0xdc00 && s.charCodeAt(i) <= 0xdfff;

/** The CJK ranges of transformers' TextStreamer._is_chinese_char. */
function isCjk(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}
