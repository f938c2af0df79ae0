/** The cause's name and message, as `: Name: message`, when the cause is an `Error`; else empty. */
export function causeDetail(options: ErrorOptions | undefined): string {
  const cause = options?.cause;
  return cause instanceof Error ? `: ${cause.name}: ${cause.message}` : "";
}
