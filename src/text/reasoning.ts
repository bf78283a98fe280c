// Reasoning models (DeepSeek-R1 and its distills) write their thinking between <think> and </think>
// before the answer; this splits a text stream into the two, as chat UIs show them.

export interface ReasoningParts { reasoning: string; answer: string }

/** Streaming splitter: push text pieces, get the reasoning and answer text each piece adds. */
export class ReasoningSplitter {
  private state: 'start' | 'reasoning' | 'answer';
  private buf = '';
  private afterClose = false; // whitespace between </think> and the answer is dropped

  /**
   * `startInside`: the prompt already opened the block (R1-Distill's template ends with "<think>\n"),
   * so the output starts as reasoning. Otherwise a <think> at the very start of the output opens it.
   */
  constructor(startInside = false, readonly open = '<think>', readonly close = '</think>') {
    this.state = startInside ? 'reasoning' : 'start';
  }

  push(piece: string): ReasoningParts {
    this.buf += piece;
    const out: ReasoningParts = { reasoning: '', answer: '' };
    for (;;) {
      if (this.state === 'start') {
        const s = this.buf.trimStart();
        if (s.startsWith(this.open)) { this.buf = s.slice(this.open.length); this.state = 'reasoning'; continue; }
        if (s.length === 0 || this.open.startsWith(s)) return out; // may still become <think>
        this.state = 'answer';
      }
      if (this.state === 'reasoning') {
        const i = this.buf.indexOf(this.close);
        if (i < 0) {
          const keep = partialSuffix(this.buf, this.close);
          out.reasoning += this.buf.slice(0, this.buf.length - keep);
          this.buf = this.buf.slice(this.buf.length - keep);
          return out;
        }
        out.reasoning += this.buf.slice(0, i);
        this.buf = this.buf.slice(i + this.close.length);
        this.state = 'answer';
        this.afterClose = true;
      }
      if (this.afterClose) {
        this.buf = this.buf.trimStart();
        if (this.buf) this.afterClose = false;
      }
      out.answer += this.buf;
      this.buf = '';
      return out;
    }
  }

  /** What is held back at the end (an unfinished tag prefix) goes where it stands. */
  flush(): ReasoningParts {
    const rest = this.buf;
    this.buf = '';
    return this.state === 'reasoning' ? { reasoning: rest, answer: '' } : { reasoning: '', answer: rest };
  }
}

/** Split a whole generated text; the reasoning is trimmed. */
export function splitReasoning(text: string, startInside = false): ReasoningParts {
  const s = new ReasoningSplitter(startInside);
  const a = s.push(text), b = s.flush();
  return { reasoning: (a.reasoning + b.reasoning).trim(), answer: a.answer + b.answer };
}

/** Whether a rendered prompt leaves the model inside a reasoning block. */
export const promptOpensReasoning = (prompt: string, open = '<think>') => prompt.trimEnd().endsWith(open);

/** Length of the longest suffix of `s` that is a proper prefix of `tag`. */
function partialSuffix(s: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, s.length); n > 0; n--) if (s.endsWith(tag.slice(0, n))) return n;
  return 0;
}
