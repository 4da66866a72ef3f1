'use strict';
/** The shim's pure pieces (dist/lib.js): targets, versions, checksums, escaping. */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, test } = require('node:test');
const zlib = require('node:zlib');
const lib = require('../../dist/lib.js');
const { tarGz, paxPath } = require('./support.js');

const directories = [];
after(() => directories.forEach((directory) => fs.rmSync(directory, { recursive: true, force: true })));

function temporary(files) {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'rko-action-lib-'));
  directories.push(directory);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(directory, name), content);
  return directory;
}

test('every supported runner maps to a Rust target triple, Windows to rko.exe', () => {
  assert.deepEqual(lib.releaseTarget('Linux', 'X64'), { target: 'x86_64-unknown-linux-musl', binary: 'rko' });
  assert.deepEqual(lib.releaseTarget('Linux', 'ARM64'), { target: 'aarch64-unknown-linux-musl', binary: 'rko' });
  assert.deepEqual(lib.releaseTarget('macOS', 'X64'), { target: 'x86_64-apple-darwin', binary: 'rko' });
  assert.deepEqual(lib.releaseTarget('macOS', 'ARM64'), { target: 'aarch64-apple-darwin', binary: 'rko' });
  assert.deepEqual(lib.releaseTarget('Windows', 'X64'), { target: 'x86_64-pc-windows-msvc', binary: 'rko.exe' });
  assert.throws(() => lib.releaseTarget('linux', 'x64'), lib.ShimError, 'the runner spells them RUNNER_OS=Linux, RUNNER_ARCH=X64');
});

test('the pinned version comes from dist/version unless the input names one', () => {
  const dist = temporary({ version: 'v0.2.0\n' });
  assert.equal(lib.resolveVersion({}, dist), '0.2.0');
  assert.equal(lib.resolveVersion({ INPUT_VERSION: '  ' }, dist), '0.2.0');
  assert.equal(lib.resolveVersion({ INPUT_VERSION: 'v1.2.3-rc.1' }, dist), '1.2.3-rc.1');
  assert.throws(() => lib.resolveVersion({ INPUT_VERSION: '1.2' }, dist), /the `version` input `1\.2` is not a release version/);
  fs.writeFileSync(path.join(dist, 'version'), 'main\n');
  assert.throws(() => lib.resolveVersion({}, dist), /holds `main`, not a release version/);
  assert.throws(() => lib.resolveVersion({}, path.join(dist, 'missing')), /cannot read the pinned rko version/);
});

test('checksums are read in sha256sum format, and a malformed line is named', () => {
  const digest = 'ab'.repeat(32);
  const dist = temporary({
    'checksums.txt': `${digest}  rko-1.0.0-x86_64-unknown-linux-musl.tar.gz\n${digest.toUpperCase()} *rko-1.0.0-x86_64-apple-darwin.tar.gz\n\n`,
    'bad.txt': `${digest}  ok.tar.gz\nnot a checksum\n`,
  });
  const checksums = lib.readChecksums(path.join(dist, 'checksums.txt'));
  assert.equal(checksums.get('rko-1.0.0-x86_64-unknown-linux-musl.tar.gz'), digest);
  assert.equal(checksums.get('rko-1.0.0-x86_64-apple-darwin.tar.gz'), digest, 'binary-mode lines and upper case are accepted');
  assert.throws(() => lib.readChecksums(path.join(dist, 'bad.txt')), /line 2 is not a `sha256sum` line/);
});

test('messages stay one workflow-command line, and URLs lose their credentials', () => {
  assert.equal(lib.escapeData('100% done\r\nnext'), '100%25 done%0D%0Anext');
  assert.equal(lib.displayUrl('https://user:token@mirror.example/releases'), 'https://mirror.example/releases');
  assert.equal(lib.displayUrl('not a url'), '<an invalid URL>');
});

test('the releases URL: RKO_RELEASES_URL, else the action repository on the server', () => {
  assert.equal(lib.releasesBase({ RKO_RELEASES_URL: 'https://mirror.example/rko/' }), 'https://mirror.example/rko');
  assert.equal(
    lib.releasesBase({ GITHUB_SERVER_URL: 'https://ghes.example', GITHUB_ACTION_REPOSITORY: 'tools/rko-action', GITHUB_REPOSITORY: 'Team/App' }),
    'https://ghes.example/tools/rko-action/releases/download',
  );
  assert.equal(lib.releasesBase({ GITHUB_REPOSITORY: 'Team/App' }), 'https://github.com/Team/App/releases/download');
  assert.throws(() => lib.releasesBase({}), /set RKO_RELEASES_URL/);
});

test('the tar reader finds the binary whatever the chunk boundaries', async () => {
  const binary = Buffer.from(Array.from({ length: 70000 }, (_, index) => (index * 7) % 251));
  const tar = zlib.gunzipSync(tarGz([
    { name: 'LICENSE', data: 'Apache-2.0\n'.repeat(50) },
    { name: 'PaxHeader', type: 'x', data: paxPath('rko') },
    { name: 'a-name-the-pax-header-replaces', data: binary },
    { name: 'README', data: 'after' },
  ]));
  const directory = temporary({});
  for (const size of [1, 7, 511, 512, 513, 4096, tar.length]) {
    const output = path.join(directory, `rko-${size}`);
    const extractor = new lib.TarExtractor('rko', output);
    for (let offset = 0; offset < tar.length; offset += size) {
      await new Promise((resolve, reject) => extractor.write(tar.subarray(offset, offset + size), (error) => (error ? reject(error) : resolve())));
    }
    await new Promise((resolve, reject) => extractor.end((error) => (error ? reject(error) : resolve())));
    assert.deepEqual(fs.readFileSync(output), binary, `chunks of ${size} bytes`);
  }
});
