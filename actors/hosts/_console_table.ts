// `console.table` as Deno 2.9's console draws it, without colour, for a
// worker or thread actor whose console goes to its parent as lines (see
// _console_lines.ts): Deno's own table cannot be told where to print. The
// rows and columns are those of Deno's `console.table`; checked against
// Deno's output in tests/console_lines_test.ts.

const CHARS = {
  line: "─",
  cross: "┼",
  topLeft: "┌",
  topMiddle: "┬",
  topRight: "┐",
  leftMiddle: "├",
  rightMiddle: "┤",
  bottomLeft: "└",
  bottomMiddle: "┴",
  bottomRight: "┘",
  left: "│ ",
  middle: " │ ",
  right: " │",
};

/**
 * The text `console.table(data, properties)` prints, or `undefined` when
 * `data` is not an object (the console then logs it as it is).
 *
 * @throws {Error} When `properties` is given and not an array, as Deno's does.
 */
export function tableText(data: unknown, properties?: readonly string[]): string | undefined {
  if (properties !== undefined && !Array.isArray(properties)) {
    throw new Error(
      `The 'properties' argument must be of type Array: received type ${typeof properties}`,
    );
  }
  if (data === null || typeof data !== "object") return undefined;
  const cell = (value: unknown) => Deno.inspect(value, { colors: false, depth: 1, compact: true });
  const isSet = data instanceof Set;
  const isMap = data instanceof Map;
  let rows: Record<string, unknown>;
  if (isSet) rows = { ...[...data] };
  else if (isMap) rows = { ...[...data].map(([key, values]) => ({ Key: key, Values: values })) };
  else rows = data as Record<string, unknown>;
  const keys = Object.keys(rows);
  const columns: Record<string, string[]> = {};
  for (const name of properties ?? []) columns[name] = new Array(keys.length).fill("");
  const indexes: string[] = [];
  const values: string[] = [];
  let primitives = false;
  keys.forEach((key, row) => {
    const value = rows[key];
    const primitive = value === null || (typeof value !== "function" && typeof value !== "object");
    if (properties === undefined && primitive) {
      primitives = true;
      values.push(cell(value));
    } else {
      const object = (value || {}) as Record<string, unknown>;
      for (const name of properties ?? Object.keys(object)) {
        if (primitive || !Reflect.has(object, name)) continue;
        columns[name] ??= new Array(keys.length).fill("");
        columns[name][row] = cell(object[name]);
      }
      values.push("");
    }
    indexes.push(key);
  });
  const head = [
    isSet || isMap ? "(iter idx)" : "(idx)",
    ...(properties ?? [...Object.keys(columns), ...(!isMap && primitives ? ["Values"] : [])]),
  ];
  return render(head, [indexes, ...Object.values(columns), values]);
}

function render(head: string[], columns: string[][]): string {
  const widths = head.map(width);
  const rightAlign = head.map(() => true);
  const rows: string[][] = [];
  const longest = Math.max(...columns.map((column) => column.length));
  for (let i = 0; i < head.length; i++) {
    const column = columns[i] ?? [];
    for (let j = 0; j < longest; j++) {
      const value = Object.hasOwn(column, j) ? column[j]! : "";
      (rows[j] ??= [])[i] = value;
      widths[i] = Math.max(widths[i]!, width(value));
      rightAlign[i] = rightAlign[i]! && Number.isInteger(+value);
    }
  }
  const row = (cells: string[]) =>
    CHARS.left + cells.map((text, i) => {
      const padding = " ".repeat(widths[i]! - width(text));
      return rightAlign[i] ? padding + text : text + padding;
    }).join(CHARS.middle) + CHARS.right;
  const divider = widths.map((w) => CHARS.line.repeat(w + 2));
  return [
    CHARS.topLeft + divider.join(CHARS.topMiddle) + CHARS.topRight,
    row(head),
    CHARS.leftMiddle + divider.join(CHARS.cross) + CHARS.rightMiddle,
    ...rows.map(row),
    CHARS.bottomLeft + divider.join(CHARS.bottomMiddle) + CHARS.bottomRight,
  ].join("\n");
}

/** Columns a text takes on a terminal: wide East Asian characters take two, marks none. */
function width(text: string): number {
  let columns = 0;
  for (const char of text) {
    if (/\p{M}|\u200b|\u200d/u.test(char)) continue;
    const code = char.codePointAt(0)!;
    columns += WIDE.test(char) || (code >= 0x1f300 && code <= 0x1faff) ? 2 : 1;
  }
  return columns;
}

const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|[\u{20000}-\u{3fffd}]/u;
