/**
 * The transport conformance suite for `nodeConnect`, on the runtime that
 * runs this file: `node --test` (type stripping) or `bun test`.
 *
 * @module
 */
import { nodeConnect } from "../../src/transport/node_connect.ts";
import { nodeFixtures } from "../transport/_fixtures.ts";
import { conformanceCases } from "../transport/conformance.ts";
import { register } from "./_register.ts";

await register(conformanceCases("nodeConnect", nodeConnect, nodeFixtures));
