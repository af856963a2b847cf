/**
 * The one rule for names that must stay inside a folder: job files
 * (`inputs`, `outputs`: inside the job folder) and function handler files
 * (inside the project). The compiler refuses such names at `validate`; the
 * agent refuses them again at run time (`safeRelative`), since manifests and
 * messages may not come from this compiler. Plain string rules, no
 * `node:path`, so every runtime reads a name the same way.
 *
 * Returns why `name` is unsafe, as a phrase that follows "it" ("is an
 * absolute path"), or undefined when it is a safe relative path.
 * `folder: true` accepts a name that ends in `/` (a key prefix).
 */
export function unsafePathReason(name: string, options: { folder?: boolean } = {}): string | undefined {
  if (name === "") return "is empty";
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 32 || c === 127) {
      return `contains a control character (U+${c.toString(16).toUpperCase().padStart(4, "0")}) at position ${i + 1}`;
    }
  }
  if (name.includes("\\")) return "contains a backslash (separate folders with /)";
  if (name.startsWith("/") || /^[A-Za-z]:\//.test(name)) return "is an absolute path";
  const body = options.folder && name.endsWith("/") ? name.slice(0, -1) : name;
  let depth = 0;
  for (const segment of body.split("/")) {
    if (segment === "") return "has an empty segment (// or a trailing /)";
    if (segment === "..") {
      if (--depth < 0) return "climbs out of its folder with ..";
    } else if (segment !== ".") depth++;
  }
  if (depth === 0 && !options.folder) return "names the folder itself, not a file in it";
  return undefined;
}
