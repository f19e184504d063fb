/**
 * Every mechanism's start function, in one module that `startSasl` loads
 * when a session first authenticates (see `loadSasl`).
 *
 * @module
 */

export { startCramMd5 } from "./_cram_md5.ts";
export { startLogin } from "./_login.ts";
export { startOauthbearer } from "./_oauthbearer.ts";
export { startPlain } from "./_plain.ts";
export { startScram } from "./_scram.ts";
export { startXoauth2 } from "./_xoauth2.ts";
