'use strict';
/**
 * The rko action's step: install the pinned, checksum-verified rko binary (or reuse it from
 * the tool cache) and run `rko action` with the step's environment; rko's exit code is the
 * step's. All the action's logic lives in the binary; see lib.js for the shim itself.
 */
const { main } = require('./lib.js');

main().then((code) => {
  process.exitCode = code;
});
