'use strict';
/**
 * Helpers of the shim's tests: a copy of the real `dist/` with test checksums, a stand-in
 * `rko` (a shell script that records its argv and environment and exits with a chosen code),
 * `.tar.gz` assets built in memory, a loopback HTTP server standing in for the release
 * downloads (it counts requests), and a simulated runner that runs `node dist/index.js` or
 * `dist/post.js` the way the Actions runner does.
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const zlib = require('node:zlib');

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const VERSION = '9.8.7';
const TARGET = 'x86_64-unknown-linux-musl';

/**
 * The stand-in binary: appends one JSON-ish record (argv, then the environment it was given,
 * read from /proc so no shell filtering of names such as `INPUT_GITHUB-TOKEN` applies) to
 * `$STANDIN_RECORD`, and exits with `$STANDIN_EXIT` (default 0).
 */
const STANDIN = `#!/bin/sh
{
  echo "argv:$*"
  tr '\\0' '\\n' < /proc/$$/environ
  echo "--"
} >> "$STANDIN_RECORD"
exit "\${STANDIN_EXIT:-0}"
`;

function octal(value, width) {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** One ustar header block. */
function tarHeader(name, size, type = '0', mode = 0o755) {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write(octal(mode, 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(size, 12), 124);
  header.write(octal(0, 12), 136);
  header.fill(' ', 148, 156);
  header.write(type, 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

/** A `.tar.gz` of `entries` ([{name, data, type}]), as bytes. */
function tarGz(entries) {
  const blocks = [];
  for (const { name, data = Buffer.alloc(0), type = '0' } of entries) {
    const bytes = Buffer.from(data);
    blocks.push(tarHeader(name, bytes.length, type), bytes, Buffer.alloc((512 - (bytes.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return zlib.gzipSync(Buffer.concat(blocks));
}

/** A pax extended header entry's data setting `path`. */
function paxPath(value) {
  const record = (length) => `${length} path=${value}\n`;
  let length = record(0).length;
  while (record(length).length !== length) length = record(length).length;
  return record(length);
}

function sha256(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/**
 * A loopback server: `routes` maps a request path to a handler `(request, response, count)`
 * or to bytes served with 200. `requests` lists every path asked for.
 */
async function startServer(routes) {
  const requests = [];
  const server = http.createServer((request, response) => {
    requests.push(request.url);
    const route = routes[request.url];
    const count = requests.filter((url) => url === request.url).length;
    if (typeof route === 'function') {
      route(request, response, count);
    } else if (route) {
      response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': route.length });
      response.end(route);
    } else {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('Not Found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

/** A temporary runner: its own copy of `dist/`, tool cache, temp dir and file commands. */
class Runner {
  constructor({ version = VERSION, checksums = '' } = {}) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'rko-action-test-'));
    this.action = path.join(this.root, 'action');
    this.dist = path.join(this.action, 'dist');
    fs.mkdirSync(this.dist, { recursive: true });
    for (const file of ['index.js', 'post.js', 'lib.js']) fs.copyFileSync(path.join(DIST, file), path.join(this.dist, file));
    fs.writeFileSync(path.join(this.dist, 'version'), `${version}\n`);
    fs.writeFileSync(path.join(this.dist, 'checksums.txt'), checksums);
    this.toolCache = path.join(this.root, 'toolcache');
    this.temp = path.join(this.root, 'temp');
    this.record = path.join(this.root, 'record.txt');
    fs.mkdirSync(this.toolCache);
    fs.mkdirSync(this.temp);
    const event = path.join(this.root, 'event.json');
    fs.writeFileSync(event, JSON.stringify({ repository: { default_branch: 'main' } }));
    this.files = {};
    for (const name of ['GITHUB_OUTPUT', 'GITHUB_STEP_SUMMARY', 'GITHUB_STATE', 'GITHUB_PATH', 'GITHUB_ENV']) {
      this.files[name] = path.join(this.root, `${name.toLowerCase()}.txt`);
      fs.writeFileSync(this.files[name], '');
    }
    this.baseEnv = {
      PATH: process.env.PATH || '/usr/bin:/bin',
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'Acme-Corp/Hello-World',
      GITHUB_ACTION_REPOSITORY: 'acme/rko-action',
      GITHUB_SERVER_URL: 'http://127.0.0.1:1',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_EVENT_PATH: event,
      GITHUB_WORKSPACE: this.root,
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
      RUNNER_TOOL_CACHE: this.toolCache,
      RUNNER_TEMP: this.temp,
      'INPUT_IMPORT-PATHS': './cmd/app',
      INPUT_PUSH: 'true',
      'INPUT_GITHUB-TOKEN': 'ghs_not-a-real-token',
      INPUT_VERSION: '',
      STANDIN_RECORD: this.record,
      ...this.files,
    };
  }

  /** Run `dist/<script>` under node; resolves with {code, stdout, stderr}. */
  run(script, env = {}) {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(this.dist, script)], {
        cwd: this.root,
        env: { ...this.baseEnv, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => { stdout += chunk; });
      child.stderr.on('data', (chunk) => { stderr += chunk; });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** The stand-in's invocations: [{argv, env}]. */
  invocations() {
    if (!fs.existsSync(this.record)) return [];
    return fs.readFileSync(this.record, 'utf8').split('--\n').filter(Boolean).map((block) => {
      const [first, ...lines] = block.split('\n').filter(Boolean);
      const env = {};
      for (const line of lines) {
        const equals = line.indexOf('=');
        env[line.slice(0, equals)] = line.slice(equals + 1);
      }
      return { argv: first.replace(/^argv:/, ''), env };
    });
  }

  /** Every file below the tool cache, relative to it. */
  toolCacheFiles() {
    const found = [];
    const walk = (directory, prefix) => {
      for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
        const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
        if (entry.isDirectory()) walk(path.join(directory, entry.name), relative);
        else found.push(relative);
      }
    };
    walk(this.toolCache, '');
    return found.sort();
  }

  cleanup() {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** The workflow-command error lines in an output. */
function errorLines(output) {
  return output.split(/\r?\n/).filter((line) => line.startsWith('::error'));
}

/** Assert the run failed with exactly one `::error::` line, and return that line. */
function assertOneError(result) {
  assert.notEqual(result.code, 0, `expected a failure, got exit 0:\n${result.stdout}${result.stderr}`);
  const lines = errorLines(result.stdout + result.stderr);
  assert.equal(lines.length, 1, `expected one ::error:: line, got:\n${result.stdout}${result.stderr}`);
  return lines[0];
}

function assetPath(version = VERSION, target = TARGET) {
  return `/v${version}/rko-${version}-${target}.tar.gz`;
}

function checksumLine(bytes, version = VERSION, target = TARGET) {
  return `${sha256(bytes)}  rko-${version}-${target}.tar.gz\n`;
}

module.exports = {
  STANDIN,
  VERSION,
  TARGET,
  tarGz,
  paxPath,
  sha256,
  startServer,
  Runner,
  errorLines,
  assertOneError,
  assetPath,
  checksumLine,
};
