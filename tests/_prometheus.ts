// The Prometheus text format (0.0.4), checked line by line: what /metrics
// serves must parse here (tests/observer_test.ts, tests/nats/metrics_test.ts).
import assert from "node:assert/strict";

/** One sample line: a name, its labels and its value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the text exposition format strictly: every sample belongs to a
 * family declared by `# TYPE` (with `# HELP`) before it, a family's lines are
 * contiguous, names and label names are valid, label values are quoted and
 * escaped, values are numbers, and no series appears twice.
 */
export function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const finished = new Set<string>();
  const series = new Set<string>();
  const samples: Sample[] = [];
  let current: string | undefined;
  const enter = (family: string, line: string) => {
    if (family === current) return;
    assert.ok(!finished.has(family), `family ${family} is split: ${line}`);
    if (current !== undefined) finished.add(current);
    current = family;
  };
  for (const [index, line] of text.slice(0, -1).split("\n").entries()) {
    const where = `line ${index + 1}: ${line}`;
    if (line.startsWith("#")) {
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!meta) continue; // a plain comment
      const [, kind, name, rest] = meta;
      assert.match(name!, NAME, where);
      enter(name!, where);
      if (kind === "HELP") {
        assert.ok(!helps.has(name!), `a second HELP: ${where}`);
        assert.ok(!/\\[^\\n]/.test(rest!.replace(/\\\\/g, "")), `bad escape in HELP: ${where}`);
        helps.add(name!);
      } else {
        assert.ok(!types.has(name!), `a second TYPE: ${where}`);
        assert.ok(
          ["counter", "gauge", "histogram", "summary", "untyped"].includes(rest!),
          `unknown type: ${where}`,
        );
        types.set(name!, rest!);
      }
      continue;
    }
    assert.notEqual(line.trim(), "", `an empty line: ${where}`);
    const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{)?/.exec(line);
    assert.ok(head, `not a sample: ${where}`);
    const name = head[1]!;
    let rest = line.slice(name.length);
    const labels: Record<string, string> = {};
    if (head[2]) {
      rest = rest.slice(1);
      while (!rest.startsWith("}")) {
        const label = /^([^=]+)="((?:[^"\\\n]|\\[\\"n])*)"(,?)/.exec(rest);
        assert.ok(label, `bad label set: ${where}`);
        assert.match(label[1]!, LABEL, where);
        assert.ok(!(label[1]! in labels), `a label twice: ${where}`);
        labels[label[1]!] = label[2]!.replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
        rest = rest.slice(label[0].length);
        if (label[3] === "" && !rest.startsWith("}")) assert.fail(`missing comma: ${where}`);
      }
      rest = rest.slice(1);
    }
    const value = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
    assert.ok(value, `bad value or timestamp: ${where}`);
    const number = value[1] === "+Inf"
      ? Infinity
      : value[1] === "-Inf"
      ? -Infinity
      : value[1] === "NaN"
      ? NaN
      : Number(value[1]);
    assert.ok(value[1] === "NaN" || !Number.isNaN(number), `not a number: ${where}`);
    assert.ok(types.has(name), `a sample before its TYPE: ${where}`);
    assert.ok(helps.has(name), `a sample without HELP: ${where}`);
    enter(name, where);
    if (types.get(name) === "counter") assert.ok(number >= 0, `a negative counter: ${where}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!series.has(key), `a series twice: ${where}`);
    series.add(key);
    samples.push({ name, labels, value: number });
  }
  return { types, samples };
}

/** The value of the first sample of `name` with `labels` (among others). */
export function sample(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.find((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  assert.ok(found, `no ${name}${JSON.stringify(labels)}`);
  return found.value;
}
