import { type CheckRule, error } from "./rule.ts";

/**
 * All aws sites name one region. A workflow deploys as one stack in one
 * region; sites in several regions would silently run in the first one, so
 * they are refused until Ferry deploys a stack per region.
 */
export const checkRegions: CheckRule = (spec) => {
  let first: { site: string; region: string } | undefined;
  return Object.entries(spec.sites).flatMap(([site, def]) => {
    if (def.type !== "aws") return [];
    if (!first) {
      first = { site, region: def.region };
      return [];
    }
    if (def.region === first.region) return [];
    return [
      error(
        "MULTIPLE_REGIONS",
        ["sites", site, "region"],
        `aws site "${site}" is in ${def.region} but site "${first.site}" is in ${first.region}; a workflow deploys to one region`,
        `put every aws site in one region (region: ${first.region}), or split the workflow into one per region`,
      ),
    ];
  });
};
