import { didYouMean } from "../diagnostics/did-you-mean.ts";
import { type CheckRule, error, everyStep } from "./rule.ts";

/** Every step names a declared site, and that site carries the labels the step requires. */
export const checkSites: CheckRule = (spec) => {
  const siteNames = Object.keys(spec.sites);
  return everyStep(spec).flatMap(({ step, path: at }) => {
    const site = spec.sites[step.site];
    if (!site) {
      return [
        error(
          "UNKNOWN_SITE",
          [...at, "site"],
          `unknown site "${step.site}"`,
          didYouMean(step.site, siteNames) ??
            (siteNames.length ? `declared sites: ${siteNames.join(", ")}` : "declare it under sites:"),
        ),
      ];
    }
    const required = step.requires?.labels ?? {};
    return Object.entries(required).flatMap(([label, value]) => {
      const actual = site.labels?.[label];
      if (actual === value) return [];
      const problem =
        actual === undefined
          ? `site "${step.site}" has no label "${label}"`
          : `site "${step.site}" has ${label}=${actual}`;
      return [
        error(
          "MISSING_LABEL",
          [...at, "requires", "labels", label],
          `step "${step.name}" requires ${label}=${value}, but ${problem}`,
          `place the step on a site labelled ${label}: ${value}, or add the label to site "${step.site}"`,
        ),
      ];
    });
  });
};
