import { describe, expect, it } from "vitest";
import { CappedText, LastLine } from "./capture.ts";

describe("CappedText", () => {
  it("keeps everything under the cap", () => {
    const text = new CappedText(100);
    text.write(Buffer.from("hello "));
    text.write(Buffer.from("world"));
    expect(text.text()).toBe("hello world");
    expect(text.truncated).toBe(false);
  });

  it("keeps the head and the tail over the cap, saying how much was dropped", () => {
    const text = new CappedText(10);
    for (const chunk of ["01234", "56789", "abcde", "fghij"]) text.write(Buffer.from(chunk));
    expect(text.text()).toBe("01234\n… [10 bytes dropped: log cap is 10 bytes] …\nfghij");
    expect(text.totalBytes).toBe(20);
  });
});

describe("LastLine", () => {
  it("finds the last non-blank line across chunk boundaries", () => {
    const line = new LastLine(1000);
    for (const chunk of ['log 1\n{"a"', ":1}\n", "\n  \n"]) line.write(Buffer.from(chunk));
    expect(line.value()).toBe('{"a":1}');
  });

  it("reports a final line without a newline", () => {
    const line = new LastLine(1000);
    line.write(Buffer.from("first\nlast"));
    expect(line.value()).toBe("last");
  });

  it("drops a line longer than its limit rather than keeping it", () => {
    const line = new LastLine(4);
    line.write(Buffer.from("ok\ntoolong\n"));
    expect(line.value()).toBeUndefined();
    expect(line.overflow).toBe(true);
  });
});
