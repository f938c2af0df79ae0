// Plain-text tables and number formats for the CLI's output.

/** One column: its header and whether its cells line up on the right (numbers). */
export interface Column {
  header: string;
  right?: boolean;
}

/**
 * Renders rows under their headers, two spaces between columns, numbers
 * right-aligned, no trailing spaces. A row shorter than the headers is padded
 * with empty cells.
 */
export function renderTable(columns: readonly Column[], rows: readonly string[][]): string {
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...rows.map((row) => (row[i] ?? "").length))
  );
  const line = (cells: readonly string[]): string =>
    columns.map((column, i) => {
      const cell = cells[i] ?? "";
      return column.right ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
    }).join("  ").trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join("\n") + "\n";
}

/** An integer with thousands separators: `12,345`. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** A rate with a sensible precision: `0`, `4.5`, `87`, `12,345`. */
export function formatRate(value: number): string {
  if (value === 0) return "0";
  if (value < 10) return value.toFixed(1);
  return formatCount(value);
}

/** A duration for people: `850 ms`, `4.2 s`, `3m 05s`, `2h 01m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(ms < 10_000 ? 2 : 1))} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

/** `1 restart`, `2 restarts`; `plural(2, "crash", "crashes")`. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${formatCount(count)} ${count === 1 ? noun : nouns}`;
}
