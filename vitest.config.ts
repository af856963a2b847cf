import { defineConfig } from "vitest/config";

// Two projects: `unit` (pure logic, tests beside code) and `integration`
// (real Docker engine and LocalStack, in /test). `npm test` runs both.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["{dsl-compiler,edge-agent,functions,infra,simulator,cli}/**/*.test.ts"],
          exclude: ["**/node_modules/**"],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
