// Option objects are checked against the names their interface declares: a misspelled key ("maxToken",
// "quantise") is an OptionError naming it, never silently ignored. The lists are complete by type.
import { OptionError } from './errors.js';

/**
 * The keys of T, listed once: `optionKeys<LoadOptions>()('simd', 'wasm', ...)` fails to compile when a
 * key of T is missing from the list (or the list names one T lacks).
 */
export function optionKeys<T>() {
  return <const K extends readonly (keyof T & string)[]>(...keys: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, K[number]> }))
    : readonly string[] => keys;
}

/** Throw when `opts` has a key outside `known`; `what` names the call ("loadModel options"). */
export function checkOptions(opts: object | undefined, known: readonly string[], what: string): void {
  if (opts === undefined || opts === null) return;
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new OptionError(`${what}: expected an object, got ${JSON.stringify(opts)}`);
  for (const key of Object.keys(opts)) {
    if (known.includes(key)) continue;
    const near = known.filter((k) => distance(k.toLowerCase(), key.toLowerCase()) <= Math.max(1, Math.floor(k.length / 4)));
    throw new OptionError(`${what}: unknown option "${key}"${near.length ? `; did you mean "${near[0]}"?` : `; known: ${known.join(', ')}`}`);
  }
}

/** Levenshtein distance, for suggestions. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
