// Rendering a parsed chat template with bounds. @huggingface/jinja's Interpreter reaches every node through
// its public evaluate(), so a subclass that overrides it sees each step: it counts them, checks the size of
// what each makes, and gives printing and `| string` Python's str(), as jinja2 (and so transformers) does.
import * as jinja from '@huggingface/jinja';
import { strftime } from './strftime.js';

// The package's .d.ts files import each other without extensions, which NodeNext resolution cannot
// follow, so Interpreter and Environment arrive untyped; these are the parts used here.
interface Node { type: string }
interface Value { type: string; value: unknown; toString(): string }
interface Env { set(name: string, value: unknown): Value }
declare class TypedInterpreter {
  global: Env;
  constructor(env: Env);
  run(program: Node): Value;
  evaluate(node: Node | undefined, env: Env): Value;
}
const Interpreter = jinja.Interpreter as typeof TypedInterpreter;
const Environment = jinja.Environment as new (parent?: Env) => Env;
type Program = Node & { body: Node[] };

export interface TemplateLimits {
  /** Most nodes evaluated (an item range() makes counts as one, an item a for loop walks as ten); no list may be longer. */
  maxSteps: number;
  /** Longest string one step may make, and most text a template may print in all. */
  maxChars: number;
  /** Deepest nesting of evaluations (a recursive macro adds a few per call). */
  maxDepth: number;
}

// Real templates take about 60 steps a message (6 800 at most for 100 messages), nest 13 deep at most, and
// print what the messages hold plus a few KiB: test/template-limits.test.ts renders them within a hundredth
// of the steps and characters and a twentieth of the depth. These stop a runaway template within about a
// second and a few tens of MiB.
export const TEMPLATE_LIMITS: Readonly<TemplateLimits> = Object.freeze({ maxSteps: 1_000_000, maxChars: 16 * 2 ** 20, maxDepth: 500 });

export interface RenderOptions {
  limits: TemplateLimits;
  /** What strftime_now() reads. */
  clock: () => Date;
  /** raise_exception(message): must throw. */
  raise: (message: string) => never;
}

/** The text `program` renders to with `variables`, or an Error when it fails or goes past `limits`. */
export function renderProgram(program: Program, variables: Record<string, unknown>, o: RenderOptions): string {
  // Globals in a parent scope, so a variable of the same name (as in jinja2) shadows one instead of clashing.
  const globals = new Environment();
  const interpreter = new BoundedInterpreter(new Environment(globals), marksOf(program), o.limits);
  const builtins: Record<string, unknown> = {
    true: true, false: false, none: null, True: true, False: false, None: null,
    raise_exception: o.raise,
    range: (...args: number[]) => interpreter.range(...args),
    strftime_now: (format: string) => strftime(o.clock(), String(format)),
  };
  for (const [k, v] of Object.entries(builtins)) globals.set(k, v);
  for (const [k, v] of Object.entries(variables)) interpreter.global.set(k, v);
  return interpreter.run(program).value as string;
}

class BoundedInterpreter extends Interpreter {
  private steps = 0;
  private depth = 0;
  private printedChars = 0;

  constructor(env: Env, private readonly marks: Marks, private readonly limits: TemplateLimits) {
    super(env);
  }

  override evaluate(node: Node | undefined, env: Env): Value {
    this.charge(1);
    if (++this.depth > this.limits.maxDepth) throw new Error(`nested deeper than ${this.limits.maxDepth} (a runaway recursion?)`);
    try {
      let v = isStringFilter(node) ? this.text(pyStr(this.evaluate(node.operand, env)), env) : super.evaluate(node, env);
      if (node && this.marks.printed.has(node)) v = this.print(v, env);
      const items = v.type === 'StringValue' ? 0 : Array.isArray(v.value) ? v.value.length : v.value instanceof Map ? v.value.size : 0;
      if (node && this.marks.iterated.has(node)) this.charge(items * ITERATION_STEPS);
      if (v.type === 'StringValue' && (v.value as string).length > this.limits.maxChars) throw new Error(`made a string of ${(v.value as string).length} characters, over the bound of ${this.limits.maxChars}`);
      if (items > this.limits.maxSteps) throw new Error(`made a list of ${items} items, more than its budget of ${this.limits.maxSteps} steps could walk`);
      return v;
    } finally {
      this.depth--;
    }
  }

  /** What {{ v }} writes, counted against the bound on printed text. */
  private print(v: Value, env: Env): Value {
    if (PY_PRINTED.has(v.type)) v = this.text(pyStr(v), env);
    if (v.type === 'StringValue') this.printedChars += (v.value as string).length;
    if (this.printedChars > this.limits.maxChars) throw new Error(`printed more than ${this.limits.maxChars} characters`);
    return v;
  }

  /** Python's range(); building it costs a step per item, and one past the budget is never built. */
  range(...args: number[]): number[] {
    if (args.length < 1 || args.length > 3 || !args.every(Number.isInteger)) throw new Error(`range() takes 1 to 3 integers, got (${args.join(', ')})`);
    const [start, stop, step = 1] = args.length === 1 ? [0, args[0]] : args;
    if (step === 0) throw new Error('range() arg 3 must not be zero');
    const n = Math.max(0, Math.ceil((stop - start) / step));
    this.charge(n);
    return Array.from({ length: n }, (_, i) => start + i * step);
  }

  private charge(steps: number): void {
    this.steps += steps;
    if (this.steps > this.limits.maxSteps) throw new Error(`ran past its budget of ${this.limits.maxSteps} steps (a runaway loop or recursion?)`);
  }

  /** A string value, made as the interpreter makes a literal's (the value classes are not exported). */
  private text(s: string, env: Env): Value {
    return super.evaluate({ type: 'StringLiteral', value: s } as Node, env);
  }
}

// Statements evaluate to their output (or to nothing); every other node directly in a block is an
// expression whose value is printed, {{ x }}. A for loop's iterable is the other node marked: each of its
// items costs ITERATION_STEPS, as the interpreter builds a scope and a loop object for each, which takes
// about as long as evaluating ten plain nodes.
const ITERATION_STEPS = 10;
const STATEMENTS = new Set(['If', 'For', 'Break', 'Continue', 'Set', 'Macro', 'Comment', 'FilterStatement', 'CallStatement']);
const BLOCKS = ['body', 'alternate', 'defaultBlock'];
interface Marks { printed: WeakSet<Node>; iterated: WeakSet<Node> }
const marksCache = new WeakMap<Program, Marks>();

function marksOf(program: Program): Marks {
  let marks = marksCache.get(program);
  if (marks) return marks;
  const m: Marks = marks = { printed: new WeakSet(), iterated: new WeakSet() };
  const walk = (nodes: Node[]) => {
    for (const n of nodes) {
      const fields = n as unknown as Record<string, Node & { lhs?: Node }>;
      if (!STATEMENTS.has(n.type)) m.printed.add(n);
      if (n.type === 'For') m.iterated.add(fields.iterable.type === 'SelectExpression' ? fields.iterable.lhs! : fields.iterable);
      for (const k of BLOCKS) if (Array.isArray(fields[k])) walk(fields[k] as unknown as Node[]);
    }
  };
  walk(program.body);
  marksCache.set(program, m);
  return m;
}

// jinja2 prints a value as Python's str(): True, ['a', 1], {'k': None}. @huggingface/jinja writes true and
// JSON, and has no `| string` for mappings (SmolLM3 writes its tool list with it).
const PY_PRINTED = new Set(['BooleanValue', 'ArrayValue', 'TupleValue', 'ObjectValue']);

function isStringFilter(node: Node | undefined): node is Node & { operand: Node } {
  const f = (node as { type?: string; filter?: { type: string; value: unknown } } | undefined);
  return f?.type === 'FilterExpression' && f.filter?.type === 'Identifier' && f.filter.value === 'string';
}

function pyStr(v: Value): string {
  switch (v.type) {
    case 'StringValue': return v.value as string;
    case 'BooleanValue': return v.value ? 'True' : 'False';
    case 'NullValue': return 'None';
    case 'UndefinedValue': return '';
    case 'ArrayValue': return `[${(v.value as Value[]).map(pyRepr).join(', ')}]`;
    case 'TupleValue': { const items = (v.value as Value[]).map(pyRepr); return `(${items.join(', ')}${items.length === 1 ? ',' : ''})`; }
    case 'ObjectValue': return `{${[...(v.value as Map<string, Value>)].map(([k, x]) => `${quote(k)}: ${pyRepr(x)}`).join(', ')}}`;
    default: return v.toString(); // numbers as the interpreter writes them (1, 1.0)
  }
}

const pyRepr = (v: Value): string => (v.type === 'StringValue' ? quote(v.value as string) : pyStr(v));

/** Python's repr() of a string: single quotes unless it holds one and no double quote. */
function quote(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replace(/[\\\n\r\t\x00-\x1f\x7f-\x9f]/g, (c) => ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return q + (q === "'" ? body.replaceAll("'", "\\'") : body) + q;
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
