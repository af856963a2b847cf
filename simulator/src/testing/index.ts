// Test helpers: small specs and topologies, and the WfCommons instances vendored under test/data.
export {
  INSTANT_ORCHESTRATION,
  modelForTest,
  prepareForTest,
  specYaml,
  type TestStep,
  topologyYaml,
} from "./fixtures.ts";
export { REPO_ROOT, wfcommonsInstances } from "./workloads.ts";
