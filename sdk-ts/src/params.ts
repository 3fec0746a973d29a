/**
 * `--param key=value` overrides, checked against the job's default params: a key the job does
 * not declare is refused, and the text is read as the type of the key's default value.
 */

/** A `--param` the job cannot take; the message names the key and says what was expected. */
export class ParamError extends Error {
  override name = "ParamError";
}

type Kind = "number" | "boolean" | "string" | "array" | "object" | "null";

function kindOf(value: unknown): Kind | undefined {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  switch (typeof value) {
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "string":
      return "string";
    case "object":
      return "object";
    default:
      return undefined;
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/**
 * Reads one override's text as the type of the param's default:
 * - a number default takes a JSON number (`3`, `-1.5`, `1e3`);
 * - a boolean default takes `true` or `false`;
 * - a string default takes the text as it is (`--param tag=123` gives the string "123");
 * - an array or object default takes JSON of the same kind (`--param ids=[1,2]`);
 * - a null default takes JSON when the text parses, else the text as a string.
 */
export function readParam(jobName: string, key: string, text: string, fallback: unknown): unknown {
  const kind = kindOf(fallback);
  const refuse = (expected: string): never => {
    throw new ParamError(
      `--param ${key}=${text}: param '${key}' of job '${jobName}' must be ${expected}, ` +
        `as its default ${JSON.stringify(fallback)} is; got '${text}'`,
    );
  };
  switch (kind) {
    case "number": {
      const parsed = parseJson(text);
      if (!parsed.ok || typeof parsed.value !== "number") return refuse("a number");
      return parsed.value;
    }
    case "boolean":
      if (text === "true") return true;
      if (text === "false") return false;
      return refuse("a boolean (true or false)");
    case "string":
      return text;
    case "array":
    case "object": {
      const parsed = parseJson(text);
      if (!parsed.ok || kindOf(parsed.value) !== kind) {
        refuse(kind === "array" ? "a JSON array" : "a JSON object");
      }
      return (parsed as { value: unknown }).value;
    }
    default: {
      const parsed = parseJson(text);
      return parsed.ok ? parsed.value : text;
    }
  }
}

/**
 * The job's params with the overrides applied (each read as its default's type).
 *
 * @throws ParamError for a key the job's params do not have, or a value of the wrong type
 */
export function applyParams(
  jobName: string,
  defaults: Readonly<Record<string, unknown>>,
  overrides: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, text] of Object.entries(overrides)) {
    if (!Object.prototype.hasOwnProperty.call(defaults, key)) {
      const known = Object.keys(defaults);
      throw new ParamError(
        `--param ${key}=${text}: job '${jobName}' has no param '${key}' ` +
          (known.length === 0
            ? "(it declares no params; give them defaults in new Job(name, { params: {...} }))"
            : `(its params: ${known.join(", ")})`),
      );
    }
    out[key] = readParam(jobName, key, text, defaults[key]);
  }
  return out;
}
