import { App, Fn, Stack } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { nagText } from "./nag.ts";

describe("nagText", () => {
  it("renders tokens the way cdk-nag names findings", () => {
    const stack = new Stack(new App(), "s");
    expect(nagText(stack, `${Fn.getAtt("Bucket1", "Arn").toString()}/wf/*`)).toBe("<Bucket1.Arn>/wf/*");
    expect(
      nagText(stack, `arn:${stack.partition}:states:${stack.region}:${stack.account}:execution:x:*`),
    ).toBe("arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:x:*");
    expect(nagText(stack, "*")).toBe("*");
  });
});
