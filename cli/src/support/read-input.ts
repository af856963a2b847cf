import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { SimulatorError } from "@ferry/simulator";

/** Reads a text file relative to `cwd`; a missing or unreadable file is an `IO` error naming it. */
export async function readText(cwd: string, file: string, what: string): Promise<string> {
  try {
    return await readFile(resolve(cwd, file), "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new SimulatorError("IO", `cannot read the ${what} ${file}: ${reason}`, { cause: error });
  }
}

/** Writes a text file relative to `cwd`, creating its folder. */
export async function writeText(cwd: string, file: string, text: string): Promise<void> {
  const path = resolve(cwd, file);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  } catch (error) {
    throw new SimulatorError("IO", `cannot write ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** `--calibrate` takes a run folder (`.ferry/runs/<id>`) or its `run.json`. */
export async function runRecordPath(cwd: string, arg: string): Promise<string> {
  try {
    return (await stat(resolve(cwd, arg))).isDirectory() ? join(arg, "run.json") : arg;
  } catch (error) {
    // A path that does not exist is reported when it is read, with the name the user gave.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return arg;
    throw new SimulatorError("IO", `cannot read ${arg}: ${(error as Error).message}`, { cause: error });
  }
}
