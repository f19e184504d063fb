/**
 * The parts of a session that not every session needs, loaded when a
 * session first needs them rather than when the client module is imported:
 * the MIME composer (a `Mail` to send) and the SASL mechanisms (`auth`).
 * Importing `mod.ts` then costs only the core: on Node, where every module
 * file is read and linked one by one, that is most of a cold start.
 *
 * `SmtpClient.connect` starts both loads while it opens the connection and
 * waits for the greeting, so they cost no time on any real network; the
 * composer is loaded before `connect` returns, so `send()` composes
 * synchronously, in call order.
 *
 * @module
 */

type Mime = typeof import("../mime/compose_message.ts");

let mime: Mime | undefined;
let mimeLoading: Promise<Mime> | undefined;

/**
 * Loads the MIME composer (once).
 *
 * @returns The module.
 */
export function loadMime(): Promise<Mime> {
  return mimeLoading ??= import("../mime/compose_message.ts").then((m) => {
    mime = m;
    return m;
  });
}

/**
 * The MIME composer, which `SmtpClient.connect` has loaded.
 *
 * @returns The module.
 * @throws {Error} When it was not loaded: a bug in the session.
 */
export function loadedMime(): Mime {
  if (mime === undefined) {
    throw new Error("The MIME composer was used before it was loaded");
  }
  return mime;
}
