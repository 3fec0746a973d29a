/**
 * Function shipping: turns a user function into the source text a worker compiles, and finds
 * everything that would stop it from working there (free variables, `this`, imports, native
 * or bound functions, getters). Runs at job build time so problems show up on the user's
 * machine, not on a worker.
 */
import type * as Acorn from "acorn";
import { functionMemo } from "./brand.js";
import { ALLOWED_GLOBALS, REFUSED_GLOBAL_REASONS } from "./globals.js";

/**
 * Node's require for this file, made through process.getBuiltinModule (Node 20.16 and later),
 * or undefined without it (older Node, the browser playground's bundle of this source). Not an
 * import of node:module: the playground bundles this file for the browser.
 */
const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
const nodeRequire: NodeJS.Require | undefined =
  typeof getBuiltin === "function"
    ? (getBuiltin("node:module") as typeof import("node:module")).createRequire(import.meta.url)
    : undefined;

/**
 * acorn, imported up front where there is no nodeRequire, as it always was; with one it is
 * required at the first parse instead (loadParser): a compile whose function texts are all in
 * the compiler's memo (brand.ts) needs no parser, and acorn is a quarter megabyte to compile.
 */
const eagerAcorn: typeof Acorn | undefined = nodeRequire === undefined ? await import("acorn") : undefined;
let acornParse: typeof Acorn.parse | undefined;

/**
 * Loads the parser. Called outside the parses' try blocks, so that a missing acorn is an error,
 * not a text that does not parse.
 */
function loadParser(): void {
  acornParse ??= (eagerAcorn ?? (nodeRequire!("acorn") as typeof Acorn)).parse;
}

function parse(text: string, options: Acorn.Options): Acorn.Program {
  return acornParse!(text, options);
}

let analysisCode: readonly string[] | undefined;

/**
 * The files whose code decides what prepareFunction makes of a text (this one, globals.js and
 * the acorn that loadParser requires), for the compiler's memo; undefined without nodeRequire,
 * where the memo is not used.
 */
function codeFiles(): readonly string[] | undefined {
  if (nodeRequire === undefined || typeof getBuiltin !== "function") return undefined;
  if (analysisCode === undefined) {
    const { fileURLToPath } = getBuiltin("node:url") as typeof import("node:url");
    analysisCode = [
      fileURLToPath(import.meta.url),
      fileURLToPath(new URL("./globals.js", import.meta.url)),
      nodeRequire.resolve("acorn"),
    ];
  }
  return analysisCode;
}

/** The outcome of preparing one function: the text to ship, or why it cannot be shipped. */
export interface PreparedFunction {
  /** JavaScript source text of a function expression ("" when there are problems). */
  readonly source: string;
  /** Problems in the user's words, without the operator prefix. Empty when shippable. */
  readonly problems: readonly string[];
}

const SELF_CONTAINED =
  "functions run on workers and must be self-contained — pass values through params";

/** A node of acorn's ESTree output, read loosely: we only look at `type` and known fields. */
interface Node {
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly [field: string]: unknown;
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && typeof (value as Node).type === "string";
}

function child(node: Node, field: string): Node | null {
  const v = node[field];
  return isNode(v) ? v : null;
}

function children(node: Node, field: string): Node[] {
  const v = node[field];
  return Array.isArray(v) ? v.filter(isNode) : [];
}

/**
 * Returns the source to ship for `fn` and the problems that prevent shipping it.
 *
 * @param fn - the user's function
 */
export function prepareFunction(fn: unknown): PreparedFunction {
  if (typeof fn !== "function") {
    return { source: "", problems: [`expected a function, got ${describe(fn)}`] };
  }
  const text = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(text)) {
    return {
      source: "",
      problems: [
        "the function is native or bound (made with .bind()), so its source cannot be shipped; " +
          "write it as an arrow function or function expression",
      ],
    };
  }
  const memo = functionMemo();
  const code = memo === undefined ? undefined : codeFiles();
  if (memo === undefined || code === undefined) return prepareText(text);
  const known = memo.get(code, text);
  if (known !== undefined) return { source: known.source, problems: [...known.problems] };
  const prepared = prepareText(text);
  memo.set(code, text, prepared);
  return prepared;
}

/** prepareFunction for a function's source text (not native): depends on the text alone. */
function prepareText(text: string): PreparedFunction {
  loadParser();
  const parsed = parseFunction(text);
  if ("problem" in parsed) return { source: "", problems: [parsed.problem] };
  if (parsed.node.async === true) {
    // Its result would be a Promise, which a worker cannot wait for: refused here, not
    // written out as `{}`.
    return {
      source: "",
      problems: [
        "an async function returns a Promise, and Sluice calls functions synchronously; " +
          "remove 'async' (and 'await') from it",
      ],
    };
  }
  const problems = analyse(parsed.node);
  return { source: problems.length === 0 ? parsed.source : "", problems };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

type ParseResult = { source: string; node: Node } | { problem: string };

/** Parses a function's text as an expression; method shorthand becomes a function expression. */
function parseFunction(text: string): ParseResult {
  const asExpression = tryParseExpression(text);
  if (asExpression !== null) {
    if (asExpression.type === "ClassExpression") {
      return { problem: "a class cannot be shipped as a function; write a function" };
    }
    if (
      asExpression.type === "FunctionExpression" ||
      asExpression.type === "ArrowFunctionExpression"
    ) {
      return { source: text, node: asExpression };
    }
    return { problem: "the function's source text does not parse as a function" };
  }
  // Object and class methods print as `name(args) { ... }` (maybe `async`, `*`, `get`, a
  // computed or quoted name). Read it as a method and re-emit it as a function expression.
  // A method does not bind its own name, so dropping the name keeps its meaning.
  const wrapped = `({${text}\n})`;
  let object: Node | null = null;
  try {
    object = expressionOf(parse(wrapped, { ecmaVersion: "latest" }) as unknown as Node);
  } catch {
    object = null;
  }
  const props = object !== null && object.type === "ObjectExpression" ? children(object, "properties") : [];
  const prop = props.length === 1 ? props[0] : undefined;
  const value = prop !== undefined ? child(prop, "value") : null;
  if (prop === undefined || value === null || value.type !== "FunctionExpression") {
    return { problem: "the function's source text could not be parsed, so it cannot be shipped" };
  }
  if (prop.kind !== "init" || prop.method !== true) {
    return { problem: `a ${String(prop.kind)}ter cannot be shipped; write a plain function` };
  }
  const prefix = `${value.async === true ? "async " : ""}function${value.generator === true ? "*" : ""} `;
  const source = prefix + wrapped.slice(value.start, value.end);
  const converted = tryParseExpression(source);
  if (converted === null || converted.type !== "FunctionExpression") {
    return {
      problem: "the method cannot be shipped as a function (does it use 'super'?); write a plain function",
    };
  }
  return { source, node: converted };
}

function tryParseExpression(text: string): Node | null {
  try {
    // The newline keeps a trailing line comment from swallowing the parenthesis.
    return expressionOf(parse(`(${text}\n)`, { ecmaVersion: "latest" }) as unknown as Node);
  } catch {
    return null;
  }
}

function expressionOf(program: Node): Node | null {
  const body = children(program, "body");
  if (body.length !== 1 || body[0]!.type !== "ExpressionStatement") return null;
  return child(body[0]!, "expression");
}

/** A lexical scope; `thisBound` says whether `this` there belongs to the shipped code. */
class Scope {
  private readonly names = new Set<string>();
  constructor(
    readonly parent: Scope | null,
    readonly thisBound: boolean,
  ) {}
  declare(name: string): void {
    this.names.add(name);
  }
  has(name: string): boolean {
    for (let s: Scope | null = this; s !== null; s = s.parent) {
      if (s.names.has(name)) return true;
    }
    return false;
  }
}

/** Finds the problems of one parsed function (the root of the shipped code). */
function analyse(root: Node): string[] {
  const analyser = new Analyser();
  // The root function's own `this` is whatever the worker calls it with: not the user's.
  analyser.visitFunction(root, new Scope(null, false), true);
  return analyser.problems();
}

class Analyser {
  private readonly free = new Set<string>();
  private usesThis = false;
  private usesImport = false;

  problems(): string[] {
    const out: string[] = [];
    for (const name of this.free) {
      out.push(
        REFUSED_GLOBAL_REASONS.get(name) ??
          `the function refers to '${name}', which is defined outside it; ${SELF_CONTAINED}`,
      );
    }
    if (this.usesThis) out.push(`the function uses 'this', which is not defined on workers; ${SELF_CONTAINED}`);
    if (this.usesImport) out.push("the function uses import(); functions cannot load modules on workers");
    return out;
  }

  private reference(name: string, scope: Scope): void {
    if (!scope.has(name) && !ALLOWED_GLOBALS.has(name)) this.free.add(name);
  }

  visitFunction(fn: Node, outer: Scope, isRoot = false): void {
    const arrow = fn.type === "ArrowFunctionExpression";
    const scope = new Scope(outer, arrow ? outer.thisBound : !isRoot);
    const id = child(fn, "id");
    // A function expression's own name is visible inside it (declarations bind outside).
    if (id !== null && fn.type === "FunctionExpression") scope.declare(String(id.name));
    if (!arrow) scope.declare("arguments");
    const params = children(fn, "params");
    for (const p of params) declarePattern(p, scope);
    const body = child(fn, "body");
    if (body === null) return;
    if (body.type === "BlockStatement") {
      for (const name of varNames(body)) scope.declare(name);
      declareLexical(children(body, "body"), scope);
    }
    for (const p of params) this.visitPatternExpressions(p, scope);
    if (body.type === "BlockStatement") {
      for (const s of children(body, "body")) this.visit(s, scope);
    } else {
      this.visit(body, scope);
    }
  }

  private visitClass(cls: Node, outer: Scope): void {
    const superClass = child(cls, "superClass");
    if (superClass !== null) this.visit(superClass, outer);
    const scope = new Scope(outer, outer.thisBound);
    const id = child(cls, "id");
    if (id !== null) scope.declare(String(id.name));
    const memberScope = new Scope(scope, true);
    const body = child(cls, "body");
    for (const member of body === null ? [] : children(body, "body")) {
      const key = child(member, "key");
      if (key !== null && member.computed === true) this.visit(key, scope);
      if (member.type === "MethodDefinition") {
        const value = child(member, "value");
        if (value !== null) this.visitFunction(value, scope);
      } else if (member.type === "PropertyDefinition") {
        const value = child(member, "value");
        if (value !== null) this.visit(value, memberScope);
      } else if (member.type === "StaticBlock") {
        this.visitBlock(children(member, "body"), memberScope, true);
      }
    }
  }

  private visitBlock(statements: Node[], outer: Scope, ownVarScope = false): void {
    const scope = new Scope(outer, outer.thisBound);
    if (ownVarScope) {
      for (const s of statements) for (const name of varNames(s)) scope.declare(name);
    }
    declareLexical(statements, scope);
    for (const s of statements) this.visit(s, scope);
  }

  /** Visits defaults and computed keys of a binding pattern (its names are declared already). */
  private visitPatternExpressions(pattern: Node, scope: Scope): void {
    switch (pattern.type) {
      case "Identifier":
        return;
      case "AssignmentPattern":
        this.visitPatternExpressions(child(pattern, "left")!, scope);
        this.visit(child(pattern, "right")!, scope);
        return;
      case "ArrayPattern":
        for (const e of children(pattern, "elements")) this.visitPatternExpressions(e, scope);
        return;
      case "RestElement":
        this.visitPatternExpressions(child(pattern, "argument")!, scope);
        return;
      case "ObjectPattern":
        for (const p of children(pattern, "properties")) {
          if (p.type === "RestElement") {
            this.visitPatternExpressions(p, scope);
            continue;
          }
          if (p.computed === true) this.visit(child(p, "key")!, scope);
          this.visitPatternExpressions(child(p, "value")!, scope);
        }
        return;
      default:
        // A member expression as an assignment target (`[obj.a] = ...`).
        this.visit(pattern, scope);
    }
  }

  /** Visits the target of an assignment or for-in/of: every name in it is a reference. */
  private visitAssignmentTarget(target: Node, scope: Scope): void {
    for (const name of boundNames(target)) this.reference(name, scope);
    this.visitPatternExpressions(target, scope);
  }

  /** Any other node: every node below it, in the same scope. */
  private visitChildren(node: Node, scope: Scope): void {
    for (const value of Object.values(node)) {
      if (isNode(value)) this.visit(value, scope);
      else if (Array.isArray(value)) {
        for (const item of value) if (isNode(item)) this.visit(item, scope);
      }
    }
  }

  /** A for, for-in or for-of statement: its head's lexical names are scoped to the loop. */
  private visitFor(node: Node, scope: Scope): void {
    const inner = new Scope(scope, scope.thisBound);
    const head = child(node, node.type === "ForStatement" ? "init" : "left");
    if (head !== null && head.type === "VariableDeclaration") {
      if (head.kind !== "var") declareLexical([head], inner);
      this.visit(head, inner);
    } else if (head !== null) {
      if (node.type === "ForStatement") this.visit(head, inner);
      else this.visitAssignmentTarget(head, inner);
    }
    for (const field of ["test", "update", "right", "body"]) {
      const part = child(node, field);
      if (part !== null) this.visit(part, inner);
    }
  }

  /** A catch clause: its parameter is scoped to its body. */
  private visitCatch(node: Node, scope: Scope): void {
    const inner = new Scope(scope, scope.thisBound);
    const param = child(node, "param");
    if (param !== null) {
      declarePattern(param, inner);
      this.visitPatternExpressions(param, inner);
    }
    this.visit(child(node, "body")!, inner);
  }

  /** A switch: its cases share one block scope. */
  private visitSwitch(node: Node, scope: Scope): void {
    this.visit(child(node, "discriminant")!, scope);
    const inner = new Scope(scope, scope.thisBound);
    const cases = children(node, "cases");
    declareLexical(cases.flatMap((c) => children(c, "consequent")), inner);
    for (const c of cases) {
      const test = child(c, "test");
      if (test !== null) this.visit(test, inner);
      for (const s of children(c, "consequent")) this.visit(s, inner);
    }
  }

  visit(node: Node, scope: Scope): void {
    switch (node.type) {
      case "Identifier":
        this.reference(String(node.name), scope);
        return;
      case "ThisExpression":
        if (!scope.thisBound) this.usesThis = true;
        return;
      case "ImportExpression":
        this.usesImport = true;
        return;
      case "MetaProperty":
      case "Literal":
      case "TemplateElement":
      case "Super":
      case "PrivateIdentifier":
      case "BreakStatement":
      case "ContinueStatement":
      case "EmptyStatement":
      case "DebuggerStatement":
        return;
      case "FunctionExpression":
      case "ArrowFunctionExpression":
      case "FunctionDeclaration":
        // A declaration's name was declared in the enclosing scope by the hoisting pass.
        this.visitFunction(node, scope);
        return;
      case "ClassDeclaration":
      case "ClassExpression":
        this.visitClass(node, scope);
        return;
      case "BlockStatement":
        this.visitBlock(children(node, "body"), scope);
        return;
      case "StaticBlock":
        this.visitBlock(children(node, "body"), new Scope(scope, true), true);
        return;
      case "LabeledStatement":
        this.visit(child(node, "body")!, scope);
        return;
      case "MemberExpression": {
        this.visit(child(node, "object")!, scope);
        if (node.computed === true) this.visit(child(node, "property")!, scope);
        return;
      }
      case "Property": {
        // Only object literals reach here; object patterns are handled as patterns.
        if (node.computed === true) this.visit(child(node, "key")!, scope);
        this.visit(child(node, "value")!, scope);
        return;
      }
      case "VariableDeclaration":
        for (const d of children(node, "declarations")) {
          this.visitPatternExpressions(child(d, "id")!, scope);
          const init = child(d, "init");
          if (init !== null) this.visit(init, scope);
        }
        return;
      case "AssignmentExpression": {
        this.visitAssignmentTarget(child(node, "left")!, scope);
        this.visit(child(node, "right")!, scope);
        return;
      }
      case "ForStatement":
      case "ForInStatement":
      case "ForOfStatement":
        this.visitFor(node, scope);
        return;
      case "CatchClause":
        this.visitCatch(node, scope);
        return;
      case "SwitchStatement":
        this.visitSwitch(node, scope);
        return;
      default:
        this.visitChildren(node, scope);
    }
  }
}

/** Declares the names a binding pattern introduces. */
function declarePattern(pattern: Node, scope: Scope): void {
  for (const name of boundNames(pattern)) scope.declare(name);
}

/** The names a pattern binds (or assigns, for an assignment target), in source order. */
function boundNames(pattern: Node): string[] {
  switch (pattern.type) {
    case "Identifier":
      return [String(pattern.name)];
    case "AssignmentPattern":
      return boundNames(child(pattern, "left")!);
    case "RestElement":
      return boundNames(child(pattern, "argument")!);
    case "ArrayPattern":
      return children(pattern, "elements").flatMap(boundNames);
    case "ObjectPattern":
      return children(pattern, "properties").flatMap((p) =>
        p.type === "RestElement" ? boundNames(p) : boundNames(child(p, "value")!),
      );
    default:
      return []; // member expressions in assignment targets bind nothing
  }
}

/** Declares the let/const/class/function declarations that sit directly in a statement list. */
function declareLexical(statements: Node[], scope: Scope): void {
  for (const s of statements) {
    if (s.type === "VariableDeclaration" && s.kind !== "var") {
      for (const d of children(s, "declarations")) declarePattern(child(d, "id")!, scope);
    } else if (s.type === "ClassDeclaration" || s.type === "FunctionDeclaration") {
      const id = child(s, "id");
      if (id !== null) scope.declare(String(id.name));
    }
  }
}

/**
 * The names `var` declarations hoist to the enclosing function, found without entering nested
 * functions or classes. Function declarations in nested blocks count too (sloppy-mode
 * hoisting), so code that works in V8 is never refused for them.
 */
function varNames(node: Node, out: string[] = [], nested = false): string[] {
  switch (node.type) {
    case "FunctionDeclaration": {
      const id = child(node, "id");
      if (nested && id !== null) out.push(String(id.name));
      return out;
    }
    case "FunctionExpression":
    case "ArrowFunctionExpression":
    case "ClassDeclaration":
    case "ClassExpression":
      return out;
    case "VariableDeclaration":
      if (node.kind === "var") {
        for (const d of children(node, "declarations")) out.push(...boundNames(child(d, "id")!));
      }
      break;
  }
  const blockLike = node.type === "BlockStatement" || node.type === "SwitchCase";
  for (const value of Object.values(node)) {
    if (isNode(value)) varNames(value, out, nested || blockLike);
    else if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) varNames(item, out, nested || blockLike);
    }
  }
  return out;
}
