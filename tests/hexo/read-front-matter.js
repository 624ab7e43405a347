#!/usr/bin/env node
'use strict';

/*
 * Prints how Hexo reads the front matter of each file named on the command line (or, with no
 * arguments, on standard input, one path a line), as one JSON object keyed by path:
 *
 *   {"<path>": {"data": {...}, "types": {"<key>": "string" | "Date" | "boolean" | ...}}}
 *
 * `data` is hexo-front-matter's `parse(text)`; `_content` is the body after the front matter.
 * JSON has no dates, so a Date is written as its ISO 8601 instant and `types` says it was one:
 * the comparison with python-frontmatter has to tell "YAML read a timestamp" from "YAML kept
 * the string".
 *
 * The parser is the copy Hexo itself loads (resolved from the installed hexo package), so the
 * answer is Hexo's, not that of another version that happens to sit in node_modules.
 * The script lives at the site's root, not in scripts/, because Hexo runs everything in scripts/.
 */

const fs = require('fs');
const path = require('path');

const hexoDir = path.dirname(require.resolve('hexo/package.json', { paths: [__dirname] }));
const { parse } = require(require.resolve('hexo-front-matter', { paths: [hexoDir] }));

function typeOf(value) {
  if (value === null) return 'null';
  if (value instanceof Date) return 'Date';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function readPaths() {
  const args = process.argv.slice(2);
  if (args.length) return args;
  return fs.readFileSync(0, 'utf8').split('\n').filter(line => line !== '');
}

const result = {};
for (const file of readPaths()) {
  const data = parse(fs.readFileSync(file, 'utf8'));
  const types = {};
  for (const [key, value] of Object.entries(data)) {
    types[key] = Array.isArray(value) ? value.map(typeOf) : typeOf(value);
  }
  // JSON.stringify writes a Date through toJSON(): its ISO instant; an invalid Date becomes null.
  result[file] = { data, types };
}
process.stdout.write(JSON.stringify(result));
