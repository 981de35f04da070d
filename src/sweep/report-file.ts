// The sweep report's files, in Node: BASE.html (the page of src/sweep/report.ts with uPlot's
// files inlined, read from the installed package) and BASE.csv beside the results file
// BASE.jsonl. Written whole at the end of a sweep (also a stopped one, marked partial) and
// by `iommu-sim sweep report`.

import { writeOutFile } from "../out-base.js";
import { uplotAssets } from "../report/html.js";
import { renderSweepHtml, sweepCsv, type SweepHtmlOptions } from "./report.js";
import type { SweepResultLine, SweepSpec } from "./types.js";

/** The sweep's HTML page with uPlot read from node_modules. */
export function sweepReportHtml(spec: SweepSpec, lines: readonly SweepResultLine[],
                                opts: Omit<SweepHtmlOptions, "uplot"> = {}): string {
  return renderSweepHtml(spec, lines, { ...opts, uplot: uplotAssets() });
}

/** Writes BASE.html and BASE.csv; returns their paths. */
export function writeSweepReport(base: string, spec: SweepSpec, lines: readonly SweepResultLine[],
                                 opts: Omit<SweepHtmlOptions, "uplot" | "csvName" | "csv"> = {}): string[] {
  const name = base.split(/[/\\]/).pop() || spec.name;
  const htmlFile = `${base}.html`;
  const csvFile = `${base}.csv`;
  const csv = sweepCsv(spec, lines);
  writeOutFile(htmlFile, sweepReportHtml(spec, lines, { ...opts, csvName: name, csv }));
  writeOutFile(csvFile, csv);
  return [htmlFile, csvFile];
}
