/**
 * Nodemailer 10 (npm:nodemailer@10) on Deno as a peer of the field
 * benchmarks: `deno run -A bench/field/nodemailer10_deno.ts '<json>'`.
 *
 * @module
 */

import nodemailer from "npm:nodemailer@10";
// @ts-types="./_nodemailer.d.mts"
import { main } from "./_nodemailer.mjs";

await main(nodemailer, JSON.parse(Deno.args[0] ?? "{}"));
