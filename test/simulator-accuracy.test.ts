import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatHeldOutTable, type HeldOutRow, measureHeldOut, scaleInstance } from "./support/accuracy.ts";

/** Long enough that sleeps, not start-up, dominate; short enough to keep the two runs to seconds. */
const CRITICAL_PATH_SECONDS = 1.5;
const CALIBRATE_SLOTS = 4;
const PREDICT_SLOTS = 8;
/**
 * Generous on purpose: one try on a shared, loaded machine. The ≤ 10% figures
 * come from `bench/simulate-heldout.ts`, which reports several instances.
 */
const TOLERANCE = 0.25;

describe("the calibrated simulator predicts a ferry run it was not calibrated from", () => {
  const projectDir = mkdtempSync(join(tmpdir(), "ferry-accuracy-"));
  const rows: HeldOutRow[] = [];
  afterAll(() => {
    if (rows.length > 0) process.stdout.write(`\nheld-out accuracy:\n${formatHeldOutTable(rows)}\n`);
    rmSync(projectDir, { recursive: true, force: true });
  });

  it(`Given epigenomics sleep-scaled and calibrated from a run at ${CALIBRATE_SLOTS} slots, When it predicts ${PREDICT_SLOTS} slots, Then a real run at ${PREDICT_SLOTS} slots lasts within 25% of the prediction`, async () => {
    const instance = scaleInstance("epigenomics-chameleon-hep-1seq-100k-001.json", CRITICAL_PATH_SECONDS);
    const [row] = await measureHeldOut(instance, {
      calibrateSlots: CALIBRATE_SLOTS,
      predictSlots: [PREDICT_SLOTS],
      projectDir,
    });
    rows.push(row!);
    // The calibrating run and the checked run differ, so a prediction that merely echoed its input could not pass.
    expect(row!.slots).not.toBe(row!.calibratedSlots);
    expect(Math.abs(row!.error), formatHeldOutTable([row!])).toBeLessThanOrEqual(TOLERANCE);
  });
});
