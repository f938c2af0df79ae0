// The OpenTelemetry API, pinned here once with its full specifier: it then
// resolves wherever Troupe is imported from, whatever the importer's own
// import map says (deno.json maps `@opentelemetry/api` to the same version,
// for tests and fixtures). Deno's built-in OpenTelemetry registers its
// providers with it when OTEL_DENO=true.
export * from "npm:@opentelemetry/api@1.10.0";
