// Telling a second, deliberate signal from an echo of the first.
//
// One Ctrl-C can arrive twice: a terminal sends SIGINT to the whole
// foreground process group, and `deno task` forwards the SIGINT it got to
// its child as well, about a millisecond later. A stop that forced on "the
// second signal" would force on every Ctrl-C under `deno task`.

/**
 * A signal that comes less than this many milliseconds after the first one
 * is taken as that signal's echo, not as a request to force the stop.
 */
export const SIGNAL_ECHO_MS = 500;

/** What a signal means to a graceful stop. */
export type SignalMeaning = "first" | "echo" | "again";

/**
 * Returns a classifier: the first signal starts the stop, one within
 * `echoMs` of it is an echo, and any later one is the user asking again.
 */
export function signalClassifier(
  echoMs = SIGNAL_ECHO_MS,
  now: () => number = () => performance.now(),
): () => SignalMeaning {
  let first: number | undefined;
  return () => {
    const at = now();
    if (first === undefined) {
      first = at;
      return "first";
    }
    return at - first < echoMs ? "echo" : "again";
  };
}
