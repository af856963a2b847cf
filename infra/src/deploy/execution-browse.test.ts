import { attemptKeyParts, logFolder, logName } from "@ferry/dsl-compiler/contract";
import { describe, expect, it } from "vitest";
import { parseLogKey } from "./execution-browse.ts";

describe("parseLogKey", () => {
  it("reads back every key logName writes: a step's, a foreach item's and a batch's", () => {
    const batch = attemptKeyParts({ step: "chunk", attempt: 2, input: { item: { Items: [{ n: 1 }] } } });
    for (const parts of [{ step: "train", attempt: 1 }, { step: "square", attempt: 3, item: 41 }, batch]) {
      expect(parseLogKey(logName(parts).slice(logFolder().length))).toEqual(parts);
    }
    expect(parseLogKey("chunk/batch-xyz/1.log")).toBeUndefined();
    expect(parseLogKey("chunk/1.json")).toBeUndefined();
  });
});
