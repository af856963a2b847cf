import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A throwaway root for dpkg and install.sh (`--root DIR`): just the account
 * files they edit, so installing into it changes nothing on this system.
 */
export function throwawayRoot(parent: string, name: string): string {
  const root = mkdtempSync(join(parent, `${name}-`));
  chmodSync(root, 0o755);
  mkdirSync(join(root, "etc"));
  writeFileSync(join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(root, "etc", "group"), "root:x:0:\ndocker:x:990:\n");
  writeFileSync(join(root, "etc", "shadow"), "root:*:19000:0:99999:7:::\n", { mode: 0o640 });
  writeFileSync(join(root, "etc", "gshadow"), "root:*::\ndocker:!::\n", { mode: 0o640 });
  return root;
}
