/** One line of the benchmark table; `met` is null for a measurement without a target. */
export interface Row {
  item: string;
  what: string;
  value: string;
  target: string;
  met: boolean | null;
}

/** Prints the rows as a Markdown table (the README's performance section quotes it). */
export function printTable(rows: Row[]): void {
  console.log("| # | Measurement | Result | Target | Met |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const r of rows) console.log(`| ${r.item} | ${r.what} | ${r.value} | ${r.target} | ${r.met === null ? "" : r.met ? "yes" : "no"} |`);
}
