'use strict';
/**
 * The rko action's post step: run `rko action --post` (saving caches) with the binary the
 * main step verified; nothing happens when the main step never installed one.
 */
const { post } = require('./lib.js');

post().then((code) => {
  process.exitCode = code;
});
