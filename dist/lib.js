'use strict';
/**
 * The rko GitHub Action's shim, shared by `index.js` (the step) and `post.js` (its post step).
 *
 * It finds the rko release this action is pinned to (`dist/version`, or the `version` input),
 * takes the runner's release target from RUNNER_OS/RUNNER_ARCH, downloads
 * `<releases>/v<version>/rko-<version>-<target>.tar.gz` once into the runner's tool cache
 * (`<cache>/rko/<version>/<arch>/` plus a `<arch>.complete` marker, as @actions/tool-cache lays
 * it out), verifies its SHA-256 against `dist/checksums.txt` before anything of it is unpacked
 * or run, and runs `rko action` with the inherited environment: the binary reads the INPUT_*
 * variables itself, and its exit code is the step's. No logic of the action lives here.
 *
 * Only Node's built-in modules are used (it runs on Node 20 and 24), so the committed file is
 * exactly what runs. A failure is one `::error::` line and a non-zero exit; an unverified
 * binary is never run, and a download cut short never leaves a file a later step trusts.
 */

const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Transform, Writable } = require('node:stream');
const childProcess = require('node:child_process');

// Needed only to download and unpack: loaded then, so a tool-cache hit starts faster.
const lazy = (name) => {
  let loaded;
  return () => {
    loaded = loaded || require(name);
    return loaded;
  };
};
const http = lazy('node:http');
const https = lazy('node:https');
const zlib = lazy('node:zlib');
const streamPromises = lazy('node:stream/promises');
const pipeline = (...streams) => streamPromises().pipeline(...streams);

/** A failure the user can act on: printed as one `::error::` line. */
class ShimError extends Error {}

/** The runners rko has a release for: `RUNNER_OS/RUNNER_ARCH` → Rust target triple. */
const TARGETS = {
  'Linux/X64': 'x86_64-unknown-linux-musl',
  'Linux/ARM64': 'aarch64-unknown-linux-musl',
  'macOS/X64': 'x86_64-apple-darwin',
  'macOS/ARM64': 'aarch64-apple-darwin',
  'Windows/X64': 'x86_64-pc-windows-msvc',
};

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
const DOWNLOAD_ATTEMPTS = 3;
const SOCKET_TIMEOUT_MS = 30000;
const VERSION_PATTERN = /^[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const STATE_BINARY = 'rko_binary';

/** Workflow-command escaping of a message (@actions/core's `escapeData`). */
function escapeData(text) {
  return String(text).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A URL fit for a log line: no user name or password. */
function displayUrl(url) {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '<an invalid URL>';
  }
}

/** The release target and the binary's file name for this runner. */
function releaseTarget(runnerOs, runnerArch) {
  const key = `${runnerOs || ''}/${runnerArch || ''}`;
  const target = TARGETS[key];
  if (!target) {
    const supported = Object.keys(TARGETS).map((k) => k.replace('/', ' ')).join(', ');
    const found = runnerOs || runnerArch ? `${runnerOs || '?'} ${runnerArch || '?'}` : 'an unknown runner';
    throw new ShimError(
      `rko has no release for ${found} (RUNNER_OS/RUNNER_ARCH); run this step on one of: ${supported}`,
    );
  }
  return { target, binary: runnerOs === 'Windows' ? 'rko.exe' : 'rko' };
}

/** The rko version to run: the `version` input if given, else the one in `dist/version`. */
function resolveVersion(env, distDirectory) {
  const input = (env.INPUT_VERSION || '').trim();
  if (input) {
    const version = input.replace(/^v/, '');
    if (!VERSION_PATTERN.test(version)) {
      throw new ShimError(`the \`version\` input \`${input}\` is not a release version; give one such as \`0.2.0\`, or leave it empty for the version this action pins`);
    }
    return version;
  }
  const file = path.join(distDirectory, 'version');
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ShimError(`cannot read the pinned rko version from \`${file}\`: ${error.message}`);
  }
  const version = text.trim().replace(/^v/, '');
  if (!VERSION_PATTERN.test(version)) {
    throw new ShimError(`\`${file}\` holds \`${text.trim()}\`, not a release version such as \`0.2.0\``);
  }
  return version;
}

/** `sha256sum` lines (`<64 hex>  <file>`) → Map of file name → lowercase hex digest. */
function readChecksums(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ShimError(`cannot read the release checksums \`${file}\`: ${error.message}`);
  }
  const checksums = new Map();
  text.split(/\r?\n/).forEach((line, index) => {
    if (!line.trim()) return;
    const match = /^([0-9a-fA-F]{64}) [ *](\S.*)$/.exec(line);
    if (!match) {
      throw new ShimError(`\`${file}\` line ${index + 1} is not a \`sha256sum\` line (\`<sha256>  <file>\`)`);
    }
    checksums.set(match[2].trim(), match[1].toLowerCase());
  });
  return checksums;
}

function assetName(version, target) {
  return `rko-${version}-${target}.tar.gz`;
}

/** The expected SHA-256 of an asset, or an error that says which versions this action knows. */
function expectedChecksum(checksums, asset, version, file) {
  const expected = checksums.get(asset);
  if (expected) return expected;
  const versionOf = (name) => {
    const target = Object.values(TARGETS).find((candidate) => name.startsWith('rko-') && name.endsWith(`-${candidate}.tar.gz`));
    return target ? name.slice('rko-'.length, -`-${target}.tar.gz`.length) : null;
  };
  const known = [...new Set([...checksums.keys()].map(versionOf).filter(Boolean))];
  const hint = known.length
    ? `it knows rko ${known.join(', ')}: pin one of them with the \`version\` input, or use the release of this action that ships ${version}`
    : 'this copy of the action has no released binaries yet: use a released tag of the action (such as `@v1`)';
  throw new ShimError(`\`${file}\` has no SHA-256 for \`${asset}\`, so it cannot be verified: ${hint}`);
}

/** Where the release assets are downloaded from. */
function releasesBase(env) {
  if (env.RKO_RELEASES_URL) return env.RKO_RELEASES_URL.replace(/\/+$/, '');
  const repository = env.GITHUB_ACTION_REPOSITORY || env.GITHUB_REPOSITORY;
  if (!repository) {
    throw new ShimError('cannot tell where rko releases live: neither GITHUB_ACTION_REPOSITORY nor GITHUB_REPOSITORY is set; set RKO_RELEASES_URL to the releases download URL');
  }
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  return `${server}/${repository}/releases/download`;
}

/** The tool-cache directory of one version and architecture, and its completion marker. */
function toolDirectory(env, version, runnerArch) {
  const root = env.RUNNER_TOOL_CACHE || path.join(env.RUNNER_TEMP || os.tmpdir(), 'rko-tool-cache');
  const directory = path.join(root, 'rko', version, runnerArch.toLowerCase());
  return { directory, marker: `${directory}.complete` };
}

/** Issue one GET, following redirects; resolves with the final response (status not checked). */
function request(url, redirectsLeft) {
  return new Promise((resolve, reject) => {
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      reject(new ShimError(`the release URL \`${displayUrl(url)}\` is not a valid URL; check RKO_RELEASES_URL`));
      return;
    }
    const client = parsed.protocol === 'https:' ? https() : parsed.protocol === 'http:' ? http() : null;
    if (!client) {
      reject(new ShimError(`cannot download \`${displayUrl(url)}\`: only http and https URLs are supported`));
      return;
    }
    const headers = { 'User-Agent': 'rko-action', Accept: 'application/octet-stream' };
    const outgoing = client.get(parsed, { headers, timeout: SOCKET_TIMEOUT_MS }, (response) => {
      const location = response.headers.location;
      if (REDIRECT_STATUSES.has(response.statusCode) && location) {
        response.resume();
        if (redirectsLeft <= 0) {
          reject(new ShimError(`gave up on \`${displayUrl(url)}\` after ${MAX_REDIRECTS} redirects`));
          return;
        }
        resolve(request(new URL(location, parsed).toString(), redirectsLeft - 1));
        return;
      }
      resolve({ response, url });
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer for ${SOCKET_TIMEOUT_MS / 1000} s`)));
    outgoing.on('error', reject);
  });
}

/** A failure worth another attempt: the network, or the server's 408, 429 and 5xx. */
class TransientError extends Error {}

/** Resolves once a file stream has closed its descriptor (an open may still be under way). */
function closed(stream) {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', resolve));
}

/** One download attempt into `destination`, hashing what it writes. */
async function downloadOnce(url, destination) {
  let response;
  try {
    ({ response } = await request(url, MAX_REDIRECTS));
  } catch (error) {
    if (error instanceof ShimError) throw error;
    throw new TransientError(`GET \`${displayUrl(url)}\` failed: ${error.message}`);
  }
  const status = response.statusCode;
  if (status !== 200) {
    response.resume();
    const message = `GET \`${displayUrl(url)}\` answered ${status} ${response.statusMessage || ''}`.trim();
    if (status === 408 || status === 429 || status >= 500) throw new TransientError(message);
    const error = new ShimError(message);
    error.status = status;
    throw error;
  }
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  const hasher = new Transform({
    transform(chunk, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const file = fs.createWriteStream(destination, { flags: 'wx', mode: 0o600 });
  try {
    await pipeline(response, hasher, file);
  } catch (error) {
    await closed(file);
    throw new TransientError(`the download of \`${displayUrl(url)}\` broke off after ${bytes} bytes (${error.message})`);
  }
  const declared = response.headers['content-length'];
  if (declared !== undefined && Number(declared) !== bytes) {
    throw new TransientError(`the download of \`${displayUrl(url)}\` stopped at ${bytes} of ${declared} bytes`);
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Download with bounded retries of transient failures; a failed attempt leaves no file. */
async function download(url, destination, log) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await downloadOnce(url, destination);
    } catch (error) {
      fs.rmSync(destination, { force: true });
      if (!(error instanceof TransientError)) throw error;
      if (attempt >= DOWNLOAD_ATTEMPTS) throw new ShimError(`${error.message}, ${attempt} times; try the job again later`);
      log(`${error.message}; trying again (attempt ${attempt + 1} of ${DOWNLOAD_ATTEMPTS})`);
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}

/** Parse a tar number field: octal text, or GNU base-256 when the high bit is set. */
function tarNumber(field) {
  if (field[0] & 0x80) {
    let value = field[0] & 0x7f;
    for (let index = 1; index < field.length; index += 1) value = value * 256 + field[index];
    return value;
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/g, '').replace(/^[\0 ]+/, '');
  return text ? parseInt(text, 8) : 0;
}

/**
 * A streaming reader of a (ustar, pax or GNU) tar stream that writes one regular file, the
 * one named `wanted` at the archive's top level, to `output`; everything else is skipped.
 */
class TarExtractor extends Writable {
  constructor(wanted, output) {
    super();
    this.wanted = wanted;
    this.output = output;
    this.header = Buffer.alloc(512);
    this.headerFilled = 0;
    this.state = 'header';
    this.remaining = 0;
    this.padding = 0;
    this.entry = null;
    this.nextName = null;
    this.found = false;
    this.file = null;
  }

  _write(chunk, _encoding, callback) {
    this.consume(chunk).then(() => callback(), callback);
  }

  async consume(chunk) {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.state === 'end') return;
      if (this.state === 'header') {
        const take = Math.min(512 - this.headerFilled, chunk.length - offset);
        chunk.copy(this.header, this.headerFilled, offset, offset + take);
        this.headerFilled += take;
        offset += take;
        if (this.headerFilled === 512) {
          this.headerFilled = 0;
          await this.startEntry();
        }
      } else if (this.state === 'data') {
        const take = Math.min(this.remaining, chunk.length - offset);
        const slice = chunk.subarray(offset, offset + take);
        offset += take;
        this.remaining -= take;
        if (this.entry.kind === 'file') await this.writeFile(slice);
        else if (this.entry.kind === 'meta') this.entry.parts.push(Buffer.from(slice));
        if (this.remaining === 0) await this.finishEntry();
      } else {
        const take = Math.min(this.padding, chunk.length - offset);
        offset += take;
        this.padding -= take;
        if (this.padding === 0) this.state = 'header';
      }
    }
  }

  async startEntry() {
    const header = this.header;
    if (header.every((byte) => byte === 0)) {
      this.state = 'end';
      return;
    }
    let sum = 0;
    for (let index = 0; index < 512; index += 1) sum += index >= 148 && index < 156 ? 32 : header[index];
    if (sum !== tarNumber(header.subarray(148, 156))) {
      throw new ShimError('the release asset is not a valid tar archive (bad header checksum)');
    }
    const type = String.fromCharCode(header[156] || 48);
    const size = tarNumber(header.subarray(124, 136));
    let name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    if (header.subarray(257, 262).toString('latin1') === 'ustar') {
      const prefix = header.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
      if (prefix) name = `${prefix}/${name}`;
    }
    if (this.nextName !== null) {
      name = this.nextName;
      this.nextName = null;
    }
    let kind = 'skip';
    if (type === 'x' || type === 'L') {
      if (size > 1 << 20) throw new ShimError('the release asset has a tar metadata entry over 1 MiB');
      kind = 'meta';
    } else if ((type === '0' || type === '7') && name.replace(/^(\.\/)+/, '') === this.wanted) {
      kind = 'file';
      this.found = true;
      this.file = fs.createWriteStream(this.output, { mode: 0o755 });
    }
    this.entry = { kind, type, parts: [] };
    this.remaining = size;
    this.padding = (512 - (size % 512)) % 512;
    this.state = 'data';
    if (size === 0) await this.finishEntry();
  }

  writeFile(slice) {
    if (this.file.write(slice)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = () => {
        this.file.off('error', onError);
        resolve();
      };
      const onError = (error) => {
        this.file.off('drain', onDrain);
        reject(error);
      };
      this.file.once('drain', onDrain);
      this.file.once('error', onError);
    });
  }

  async finishEntry() {
    const entry = this.entry;
    if (entry.kind === 'file') {
      const file = this.file;
      this.file = null;
      await new Promise((resolve, reject) => file.end((error) => (error ? reject(error) : resolve())));
      await closed(file); // running a file still open for writing fails with ETXTBSY
    } else if (entry.kind === 'meta') {
      const data = Buffer.concat(entry.parts);
      if (entry.type === 'L') {
        this.nextName = data.toString('utf8').replace(/\0.*$/s, '');
      } else {
        // pax records: "<length> <key>=<value>\n"
        let offset = 0;
        while (offset < data.length) {
          const space = data.indexOf(0x20, offset);
          const length = parseInt(data.subarray(offset, space).toString('latin1'), 10);
          if (space < 0 || !(length > 0)) break;
          const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
          const equals = record.indexOf('=');
          if (record.slice(0, equals) === 'path') this.nextName = record.slice(equals + 1);
          offset += length;
        }
      }
    }
    this.entry = null;
    this.state = this.padding > 0 ? 'padding' : 'header';
  }

  _final(callback) {
    if (this.file) {
      callback(new ShimError('the release asset ends in the middle of the rko binary'));
    } else if (!this.found) {
      callback(new ShimError(`the release asset holds no \`${this.wanted}\` at its top level`));
    } else {
      callback();
    }
  }

  _destroy(error, callback) {
    if (!this.file) {
      callback(error);
      return;
    }
    this.file.destroy();
    closed(this.file).then(() => callback(error));
  }
}

/** Unpack the binary `wanted` from a verified `.tar.gz` into `directory`. */
async function extractBinary(tarball, directory, wanted) {
  const output = path.join(directory, wanted);
  try {
    // Large chunks: the per-chunk cost dominates unpacking a 10 MB binary in 16 KiB pieces.
    const chunk = 1 << 20;
    await pipeline(
      fs.createReadStream(tarball, { highWaterMark: chunk }),
      zlib().createGunzip({ chunkSize: chunk }),
      new TarExtractor(wanted, output),
    );
  } catch (error) {
    if (error instanceof ShimError) throw error;
    throw new ShimError(`cannot unpack the verified release asset: ${error.message}`);
  }
  fs.chmodSync(output, 0o755);
  return output;
}

function randomSuffix() {
  return `${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
}

function readMarker(marker) {
  try {
    return fs.readFileSync(marker, 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * The path of a verified rko binary for this runner: from the tool cache when a completed
 * entry with the expected checksum is there, else downloaded, verified and unpacked into it.
 */
async function install(env, distDirectory, log) {
  const { target, binary } = releaseTarget(env.RUNNER_OS, env.RUNNER_ARCH);
  const version = resolveVersion(env, distDirectory);
  const checksumsFile = path.join(distDirectory, 'checksums.txt');
  const asset = assetName(version, target);
  const expected = expectedChecksum(readChecksums(checksumsFile), asset, version, checksumsFile);
  const { directory, marker } = toolDirectory(env, version, env.RUNNER_ARCH);
  const cached = path.join(directory, binary);
  if (readMarker(marker) === expected && fs.existsSync(cached)) {
    log(`rko ${version} (${target}) from the tool cache`);
    return { binary: cached, version };
  }

  const parent = path.dirname(directory);
  fs.mkdirSync(parent, { recursive: true });
  const suffix = randomSuffix();
  const tarball = path.join(parent, `.download-${path.basename(directory)}-${suffix}.tar.gz`);
  const staging = path.join(parent, `.staging-${path.basename(directory)}-${suffix}`);
  const url = `${releasesBase(env)}/v${version}/${asset}`;
  process.stdout.write(`::debug::${escapeData(`downloading ${displayUrl(url)} into ${directory}`)}${os.EOL}`);
  const started = Date.now();
  try {
    let result;
    try {
      result = await download(url, tarball, log);
    } catch (error) {
      if (error.status === 404) {
        throw new ShimError(`rko ${version} has no release asset \`${asset}\`: GET \`${displayUrl(url)}\` answered 404; check that release v${version} exists there (RKO_RELEASES_URL names a mirror) or pin another \`version\``);
      }
      throw error;
    }
    if (result.sha256 !== expected) {
      throw new ShimError(`refusing to run \`${asset}\`: its SHA-256 is ${result.sha256}, but \`${checksumsFile}\` says ${expected} (a corrupted download or a replaced release asset)`);
    }
    fs.mkdirSync(staging);
    await extractBinary(tarball, staging, binary);
    fs.rmSync(marker, { force: true });
    fs.rmSync(directory, { recursive: true, force: true });
    try {
      fs.renameSync(staging, directory);
    } catch (error) {
      // Another job on this runner may have installed the same version meanwhile.
      if (!(readMarker(marker) === expected && fs.existsSync(cached))) throw error;
    }
    fs.writeFileSync(marker, `${expected}\n`);
    const seconds = ((Date.now() - started) / 1000).toFixed(2);
    log(`rko ${version} (${target}) downloaded, verified (sha256 ${expected.slice(0, 12)}…) and unpacked in ${seconds} s`);
  } finally {
    fs.rmSync(tarball, { force: true });
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return { binary: cached, version };
}

/** Append `name=value` to a runner file command (`GITHUB_STATE`, `GITHUB_PATH` style). */
function appendFileCommand(file, line) {
  if (!file) return;
  if (/[\r\n]/.test(line)) throw new ShimError(`cannot record \`${line}\` in a runner file command: it holds a line break`);
  fs.appendFileSync(file, `${line}${os.EOL}`, 'utf8');
}

/** Run the binary with the inherited environment; resolves with its exit code. */
function runBinary(binary, args, env) {
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = childProcess.spawn(binary, args, { stdio: 'inherit', env });
    } catch (error) {
      reject(new ShimError(`cannot run \`${binary}\`: ${error.message}`));
      return;
    }
    const forward = (signal) => child.kill(signal);
    const signals = ['SIGINT', 'SIGTERM'];
    signals.forEach((signal) => process.on(signal, forward));
    child.on('error', (error) => {
      signals.forEach((signal) => process.off(signal, forward));
      reject(new ShimError(`cannot run \`${binary}\`: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      signals.forEach((signal) => process.off(signal, forward));
      if (signal) {
        process.stderr.write(`rko was stopped by ${signal}${os.EOL}`);
        resolve(128 + (os.constants.signals[signal] || 0));
      } else {
        resolve(code);
      }
    });
  });
}

function log(message) {
  process.stdout.write(`${message}${os.EOL}`);
}

function reportError(error) {
  const message = error instanceof ShimError ? error.message : `the rko action's shim failed: ${error && error.stack ? error.stack : error}`;
  process.stdout.write(`::error::${escapeData(message)}${os.EOL}`);
  return 1;
}

/** The main step: install (or reuse) rko, remember it for the post step, run `rko action`. */
async function main(env = process.env, distDirectory = __dirname) {
  try {
    const { binary } = await install(env, distDirectory, log);
    appendFileCommand(env.GITHUB_STATE, `${STATE_BINARY}=${binary}`);
    appendFileCommand(env.GITHUB_PATH, path.dirname(binary));
    return await runBinary(binary, ['action'], env);
  } catch (error) {
    return reportError(error);
  }
}

/** The post step: `rko action --post` with the binary the main step verified, if it got one. */
async function post(env = process.env) {
  try {
    const binary = env[`STATE_${STATE_BINARY}`];
    if (!binary) {
      log('rko was not installed by this action\'s main step; nothing to do after the job');
      return 0;
    }
    return await runBinary(binary, ['action', '--post'], env);
  } catch (error) {
    return reportError(error);
  }
}

module.exports = {
  ShimError,
  TARGETS,
  escapeData,
  displayUrl,
  releaseTarget,
  resolveVersion,
  readChecksums,
  assetName,
  expectedChecksum,
  releasesBase,
  toolDirectory,
  TarExtractor,
  extractBinary,
  install,
  main,
  post,
};
