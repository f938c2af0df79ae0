/**
 * Binding the `socket` transport's listeners: a Unix socket in a fresh
 * private directory, on a given path (recovering a stale socket file left by
 * a killed process), or a TCP port; and how each is cleaned up.
 *
 * @module
 */

import { noop } from "../../internal/abort.ts";

/** A bound listener and how to clean up after it. */
export interface Bound {
  listener: Deno.Listener;
  /** `true` for a Unix socket in a directory only this user can enter. */
  private: boolean;
  /** Closes the listener and removes the socket file and its private directory. */
  release(): Promise<void>;
}

/**
 * Closes a listener that may be closed already.
 *
 * @param listener The listener.
 */
export function closeListener(listener: Deno.Listener): void {
  try {
    listener.close();
  } catch {
    // Closed already.
  }
}

/**
 * Listens on a Unix socket in a fresh directory of mode 0700.
 *
 * @returns The listener; releasing it removes the directory.
 */
export async function bindPrivateUnix(): Promise<Bound> {
  const dir = await Deno.makeTempDir({ prefix: "troupe-" });
  try {
    await Deno.chmod(dir, 0o700);
    const path = `${dir}/troupe.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    try {
      await Deno.chmod(path, 0o600);
    } catch (error) {
      closeListener(listener);
      throw error;
    }
    return {
      listener,
      private: true,
      async release() {
        closeListener(listener);
        await Deno.remove(dir, { recursive: true }).catch(noop);
      },
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(noop);
    throw error;
  }
}

/**
 * Listens on a given Unix socket path, replacing a stale socket file.
 *
 * @param path The socket file.
 * @param context What is being set up, for the message.
 * @returns The listener, and whether only this user can enter its directory.
 * @throws {Deno.errors.AddrInUse} When the path is not a socket or something answers on it.
 */
export async function bindUnixPath(path: string, context: string): Promise<Bound> {
  await removeStaleSocket(path, context);
  const listener = Deno.listen({ transport: "unix", path });
  let isPrivate: boolean;
  try {
    await Deno.chmod(path, 0o600);
    isPrivate = await inPrivateDirectory(path);
  } catch (error) {
    closeListener(listener);
    throw error;
  }
  // Closing a Unix listener removes its socket file.
  return closingBound(listener, isPrivate);
}

/**
 * Removes a socket file nothing listens on any more (left by a killed
 * process). Refuses to touch a path that is not a socket or that answers.
 * Used by the CLI's control socket too; not part of the package's API.
 *
 * @param path The socket file.
 * @param context The start of the error message, such as `Cannot listen`.
 * @throws {Deno.errors.AddrInUse} When the path is not a socket or something answers on it.
 */
export async function removeStaleSocket(path: string, context: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (!info.isSocket) {
    throw new Deno.errors.AddrInUse(`${context}: "${path}" exists and is not a socket`);
  }
  let probe: Deno.Conn;
  try {
    probe = await Deno.connect({ transport: "unix", path });
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
    await Deno.remove(path);
    return;
  }
  probe.close();
  throw new Deno.errors.AddrInUse(`${context}: another process is listening on "${path}"`);
}

/** `true` when the socket's directory belongs to the socket's owner and no one else may enter it. */
async function inPrivateDirectory(path: string): Promise<boolean> {
  const [dir, socket] = await Promise.all([Deno.stat(parentDir(path)), Deno.lstat(path)]);
  return dir.isDirectory && dir.uid !== null && dir.uid === socket.uid && dir.mode !== null &&
    (dir.mode & 0o077) === 0;
}

/**
 * Listens on TCP.
 *
 * @param hostname The interface.
 * @param port The port; 0 picks a free one.
 * @returns The listener.
 */
export function bindTcp(hostname: string, port: number): Bound {
  return closingBound(Deno.listen({ transport: "tcp", hostname, port }), false);
}

/** A listener whose release only closes it. */
function closingBound(listener: Deno.Listener, isPrivate: boolean): Bound {
  return {
    listener,
    private: isPrivate,
    release() {
      closeListener(listener);
      return Promise.resolve();
    },
  };
}

/**
 * The directory part of a socket path (`node:path` would load Deno's Node
 * layer into every worker that imports the package).
 */
function parentDir(path: string): string {
  const cut = path.replace(/\/+$/, "").lastIndexOf("/");
  return cut < 0 ? "." : cut === 0 ? "/" : path.slice(0, cut);
}
