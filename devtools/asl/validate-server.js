#!/usr/bin/env node
// Long-lived asl-validator for the emulator's Step Functions gate (scripts/ddbmigrate/emulator/asl_validation.py).
//
// One process serves many definitions because starting node and loading the validator costs far more than a
// validation. Protocol, one JSON document per line: the first line written is
// {"ready": true, "validator": "<asl-validator version>"}; then each request {"definition": <object>} on stdin
// gets one answer {"errors": [{"code", "message", "instancePath"}]} or {"failure": "<why>"} on stdout.
"use strict";

const readline = require("node:readline");
const validate = require("asl-validator");
const { version } = require("asl-validator/package.json");

function answer(document) {
  process.stdout.write(`${JSON.stringify(document)}\n`);
}

function check(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (error) {
    return { failure: `request is not JSON: ${error.message}` };
  }
  const definition = request.definition;
  if (definition === null || typeof definition !== "object" || Array.isArray(definition)) {
    return { failure: "request.definition must be a JSON object" };
  }
  try {
    const { errors } = validate(definition);
    return {
      errors: errors.map((error) => ({
        code: error["Error code"],
        message: error.Message,
        instancePath: error.schemaError ? error.schemaError.instancePath : "",
      })),
    };
  } catch (error) {
    return { failure: `asl-validator raised: ${error && error.stack ? error.stack : error}` };
  }
}

answer({ ready: true, validator: version });
const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (line.trim() !== "") {
    answer(check(line));
  }
});
