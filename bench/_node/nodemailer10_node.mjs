// Nodemailer 10 on Node as a peer of the field benchmarks:
// `node bench/_node/nodemailer10_node.mjs '<json>'` after `npm ci` here.
import nodemailer from "nodemailer10";
import { main } from "../field/_nodemailer.mjs";

await main(nodemailer, JSON.parse(process.argv[2] ?? "{}"));
