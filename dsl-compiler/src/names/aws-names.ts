/**
 * How Ferry turns site, step and queue names into AWS identifiers
 * (CloudFormation logical ids and output keys, which allow only letters and
 * digits). One place, so the compiler can refuse names that would collide
 * before `compile` builds a stack.
 */

/** `site-lab` → `SiteLab`; `fn-load_v2` → `FnLoadV2`. */
export function pascalCase(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("");
}

/**
 * The identity of a name once sanitised for AWS: separators dropped, case
 * folded (output keys and several AWS names ignore case). Two names with the
 * same key (`lab-1`/`lab_1`, `f-x`/`F-x`) would map to one AWS identifier.
 */
export function awsNameKey(name: string): string {
  return pascalCase(name).toLowerCase();
}
