// Runs PEV2's PlanService (npm package `pev2`) over EXPLAIN (FORMAT JSON) files and prints, per
// file, each node's type, subplan name, exclusive duration (ms) and exclusive shared blocks (hit +
// read): the main tree in plan order, then the CTEs PEV2 moves out of it. Used by
// test_plan_pev2.py; argv: the module that exports PlanService, then the plan files.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [moduleFile, ...files] = process.argv.slice(2);
const { PlanService } = await import(pathToFileURL(moduleFile).href);
const service = new PlanService();
const result = {};
for (const file of files) {
  const plan = service.createPlan("", service.fromSource(readFileSync(file, "utf8")), "");
  const rows = [];
  const walk = (node) => {
    rows.push([
      node["Node Type"],
      node["Subplan Name"] || "",
      node["*Duration (exclusive)"] ?? 0,
      (node["*Shared Hit Blocks (exclusive)"] ?? 0) + (node["*Shared Read Blocks (exclusive)"] ?? 0),
    ]);
    for (const child of node.Plans || []) walk(child);
  };
  walk(plan.content.Plan);
  for (const cte of plan.ctes || []) walk(cte);
  result[file] = rows;
}
console.log(JSON.stringify(result));
