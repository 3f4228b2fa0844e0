/** The columns of a table for an array of JSON objects (first-seen key order), or null when the
 * array is not a list of plain objects (then it is shown as a list). At most 12 columns: a wider
 * record reads better as one table per row. */
export function tableColumns(rows: readonly unknown[]): string[] | null {
  if (rows.length === 0) return null;
  const columns: string[] = [];
  for (const row of rows) {
    if (typeof row !== "object" || row === null || Array.isArray(row)) return null;
    for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  }
  return columns.length > 0 && columns.length <= 12 ? columns : null;
}
