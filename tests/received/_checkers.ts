// External parsers the renderers' output is checked with: Python's expat
// (through xml.etree) for XML, Graphviz's dot for DOT, Mermaid's own parser
// for flowcharts.

import { PYTHON } from "../_harness/mod.ts";

/** What Python's XML parser made of one document. */
export interface XmlResult {
  /** The error message, when the document is not well-formed. */
  error?: string;
  /** The root element's tag, namespace included (`{http://…}svg`). */
  root?: string;
  /** Every element's tag, in document order. */
  tags?: string[];
  /** Every attribute value, in document order. */
  attributes?: string[];
  /** The text of every element, in document order, whitespace-trimmed. */
  texts?: string[];
}

const XML_SCRIPT = `
import json, sys
import xml.etree.ElementTree as ET
out = []
for doc in json.load(sys.stdin):
    try:
        root = ET.fromstring(doc.encode("utf-8"))
    except ET.ParseError as e:
        out.append({"error": str(e)})
        continue
    tags, attributes, texts = [], [], []
    for el in root.iter():
        tags.append(el.tag)
        attributes.extend(el.attrib.values())
        if el.text and el.text.strip():
            texts.append(el.text.strip())
    out.append({"root": root.tag, "tags": tags, "attributes": attributes, "texts": texts})
print(json.dumps(out))
`;

/** Parses documents with Python's xml.etree (expat), in one process. */
export async function parseXml(docs: readonly string[]): Promise<XmlResult[]> {
  const { stdout } = await run(
    PYTHON,
    ["-c", XML_SCRIPT],
    JSON.stringify(docs),
  );
  return JSON.parse(stdout);
}

/** Runs `dot -Tsvg` on a graph; resolves with its exit code, SVG and warnings. */
export async function renderDot(
  dot: string,
): Promise<{ code: number; svg: string; stderr: string }> {
  const { code, stdout, stderr } = await run("dot", ["-Tsvg"], dot, true);
  return { code, svg: stdout, stderr };
}

async function run(
  command: string,
  args: string[],
  input: string,
  allowFailure = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  const decoder = new TextDecoder();
  const result = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  if (!allowFailure && result.code !== 0) {
    throw new Error(`${command} failed (${result.code}): ${result.stderr}`);
  }
  return result;
}
