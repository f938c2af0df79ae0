// `troupe status --tree` draws each node's state from the service's tree: a
// supervisor that is not running says where it is, and an actor that is not
// among the running ones says what its supervisor holds it for.
import assert from "node:assert/strict";
import { renderTree, type ServiceStatus } from "../cli/status.ts";

const status = (tree: ServiceStatus["tree"]): ServiceStatus => ({
  name: "svc",
  pid: 7,
  app: "app.ts",
  state: "running",
  started: 0,
  uptimeMs: 0,
  stats: {} as ServiceStatus["stats"],
  actors: [],
  tree,
});

Deno.test("renderTree shows a supervisor's state when it is not running, and a down actor's", () => {
  const text = renderTree(status([{
    id: "root",
    kind: "supervisor",
    state: "running",
    children: [{
      id: "inner",
      kind: "supervisor",
      state: "gave-up",
      children: [{ id: "deep", kind: "actor", state: "restarting" }],
    }, { id: "gone", kind: "actor", state: "stopped" }],
  }]));
  assert.deepEqual(text.trimEnd().split("\n"), [
    "service svc  pid 7  running",
    "root  (supervisor)",
    "├─ inner  (supervisor, gave-up)",
    "│  └─ deep  (restarting)",
    "└─ gone  (stopped)",
  ]);
});

Deno.test("renderTree reads a tree without states (a service from before they existed)", () => {
  const old = [{ id: "root", kind: "supervisor", children: [{ id: "a", kind: "actor" }] }];
  const text = renderTree(status(old as unknown as ServiceStatus["tree"]));
  assert.deepEqual(text.trimEnd().split("\n"), [
    "service svc  pid 7  running",
    "root  (supervisor)",
    "└─ a  (not running)",
  ]);
});
