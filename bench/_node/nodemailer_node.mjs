// Nodemailer on Node as a peer of the field benchmarks:
// `node bench/_node/nodemailer_node.mjs '<json>'` after `npm ci` here.
import nodemailer from "nodemailer";
import { main } from "../field/_nodemailer.mjs";

await main(nodemailer, JSON.parse(process.argv[2] ?? "{}"));
