// Every transport on every host it reaches runs the same actor-level suite
// (the routes are in tests/_routes.ts).
import { actorConformance } from "./actor_conformance.ts";
import { ROUTES } from "./_routes.ts";

for (const target of ROUTES) actorConformance(target);
