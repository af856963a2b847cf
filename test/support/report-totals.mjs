// Totals for test/run-all.sh's last line, from each vitest project's JSON
// report and exit code (written by run-all.sh's vitest_project).
//
//   node test/support/report-totals.mjs REPORT_DIR PROJECT...
//
// First line: "PASSED FAILED SKIPPED". Then one line per failure that is not a
// failed test: a test file that failed to load or crashed (its tests never ran,
// so vitest's own counts miss it), or a run that failed without a report.
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const [reportDir, ...projects] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
const notes = [];

for (const project of projects) {
  const rcFile = join(reportDir, `${project}.rc`);
  if (!existsSync(rcFile)) continue; // not run; the stage list says why
  const rc = Number(readFileSync(rcFile, "utf8").trim());
  let report;
  try {
    report = JSON.parse(readFileSync(join(reportDir, `${project}.json`), "utf8"));
  } catch (error) {
    failed += 1;
    notes.push(`${project}: vitest exited ${rc} without a readable report (${error.message})`);
    continue;
  }
  const before = failed;
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  for (const file of report.testResults) {
    const failedTests = file.assertionResults.filter((t) => t.status === "failed").length;
    if (file.status === "failed" && failedTests === 0) {
      failed += 1;
      const message = (file.message || "failed outside any test").split("\n")[0];
      notes.push(`${project}: ${relative(process.cwd(), file.name)}: ${message}`);
    }
  }
  if (rc !== 0 && failed === before) {
    failed += 1;
    notes.push(
      `${project}: vitest exited ${rc} with no failed test (an unhandled error; see its output above)`,
    );
  }
}

console.log(passed, failed, skipped);
for (const note of notes) console.log(note);
