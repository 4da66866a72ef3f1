'use strict';
/**
 * The shim (`dist/index.js`, `dist/post.js`) run under node with a simulated runner and a
 * loopback server standing in for the release downloads.
 */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const {
  STANDIN, VERSION, TARGET, tarGz, paxPath, startServer, Runner, assertOneError, errorLines, assetPath, checksumLine,
} = require('./support.js');

const GOOD = tarGz([{ name: 'LICENSE', data: 'Apache-2.0\n' }, { name: 'rko', data: STANDIN }]);

/** A runner whose checksums know GOOD, and a server that serves it; cleaned up after `body`. */
async function withRelease(t, { routes = {}, checksums = checksumLine(GOOD) } = {}, body) {
  const server = await startServer({ [assetPath()]: GOOD, ...routes });
  const runner = new Runner({ checksums });
  t.after(async () => {
    await server.close();
    runner.cleanup();
  });
  return body({ server, runner, env: { RKO_RELEASES_URL: server.base } });
}

test('a cold start downloads, verifies, unpacks and runs `rko action` with the inherited environment', async (t) => {
  await withRelease(t, {}, async ({ server, runner, env }) => {
    const result = await runner.run('index.js', env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(server.requests, [assetPath()]);
    assert.deepEqual(errorLines(result.stdout), []);

    const [invocation, ...more] = runner.invocations();
    assert.equal(more.length, 0);
    assert.equal(invocation.argv, 'action');
    assert.equal(invocation.env['INPUT_GITHUB-TOKEN'], 'ghs_not-a-real-token');
    assert.equal(invocation.env['INPUT_IMPORT-PATHS'], './cmd/app');
    assert.equal(invocation.env.GITHUB_REPOSITORY, 'Acme-Corp/Hello-World');
    assert.equal(invocation.env.GITHUB_OUTPUT, runner.files.GITHUB_OUTPUT);
    assert.equal(invocation.env.GITHUB_STEP_SUMMARY, runner.files.GITHUB_STEP_SUMMARY);
    assert.equal(invocation.env.GITHUB_EVENT_PATH, runner.baseEnv.GITHUB_EVENT_PATH);

    assert.deepEqual(runner.toolCacheFiles(), [`rko/${VERSION}/x64.complete`, `rko/${VERSION}/x64/rko`]);
    const binary = path.join(runner.toolCache, 'rko', VERSION, 'x64', 'rko');
    assert.equal(fs.statSync(binary).mode & 0o777, 0o755);
    assert.equal(fs.readFileSync(runner.files.GITHUB_STATE, 'utf8'), `rko_binary=${binary}\n`);
    assert.equal(fs.readFileSync(runner.files.GITHUB_PATH, 'utf8'), `${path.dirname(binary)}\n`);
    assert.doesNotMatch(result.stdout + result.stderr, /ghs_not-a-real-token/);
  });
});

test('a second step reuses the tool cache without downloading', async (t) => {
  await withRelease(t, {}, async ({ server, runner, env }) => {
    assert.equal((await runner.run('index.js', env)).code, 0);
    const second = await runner.run('index.js', env);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.equal(server.requests.length, 1, 'the second run must not download');
    assert.match(second.stdout, /from the tool cache/);
    assert.equal(runner.invocations().length, 2);
  });
});

test('rko\'s exit code is the step\'s', async (t) => {
  await withRelease(t, {}, async ({ runner, env }) => {
    const result = await runner.run('index.js', { ...env, STANDIN_EXIT: '3' });
    assert.equal(result.code, 3);
    assert.deepEqual(errorLines(result.stdout), [], 'rko reports its own failures');
  });
});

test('a wrong checksum is refused and the binary never runs', async (t) => {
  const wrong = checksumLine(Buffer.from('something else'));
  await withRelease(t, { checksums: wrong }, async ({ runner, env }) => {
    const line = assertOneError(await runner.run('index.js', env));
    assert.match(line, /refusing to run `rko-9\.8\.7-x86_64-unknown-linux-musl\.tar\.gz`: its SHA-256 is [0-9a-f]{64}/);
    assert.deepEqual(runner.invocations(), []);
    assert.deepEqual(runner.toolCacheFiles(), [], 'nothing of an unverified download stays behind');
    assert.equal(fs.readFileSync(runner.files.GITHUB_STATE, 'utf8'), '', 'the post step gets no binary');
  });
});

test('a tampered tool-cache entry is downloaded again, not trusted', async (t) => {
  await withRelease(t, {}, async ({ server, runner, env }) => {
    assert.equal((await runner.run('index.js', env)).code, 0);
    fs.writeFileSync(path.join(runner.toolCache, 'rko', VERSION, 'x64.complete'), `${'0'.repeat(64)}\n`);
    const result = await runner.run('index.js', env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(server.requests.length, 2);
  });
});

test('a missing asset is one error line naming the asset and the answer', async (t) => {
  await withRelease(t, { routes: { [assetPath()]: undefined } }, async ({ runner, env }) => {
    const line = assertOneError(await runner.run('index.js', env));
    assert.match(line, /^::error::rko 9\.8\.7 has no release asset `rko-9\.8\.7-x86_64-unknown-linux-musl\.tar\.gz`: GET `http:\/\/127\.0\.0\.1:\d+\/v9\.8\.7\/[^`]+` answered 404/);
    assert.deepEqual(runner.invocations(), []);
    assert.deepEqual(runner.toolCacheFiles(), []);
  });
});

test('an unsupported runner is refused before any download', async (t) => {
  await withRelease(t, {}, async ({ server, runner, env }) => {
    for (const [os, arch] of [['Linux', 'ARM'], ['Linux', 'X86'], ['Windows', 'ARM64'], ['', '']]) {
      const line = assertOneError(await runner.run('index.js', { ...env, RUNNER_OS: os, RUNNER_ARCH: arch }));
      assert.match(line, /rko has no release for .* \(RUNNER_OS\/RUNNER_ARCH\); run this step on one of: Linux X64, Linux ARM64, macOS X64, macOS ARM64, Windows X64/);
    }
    assert.deepEqual(server.requests, []);
    assert.deepEqual(runner.invocations(), []);
  });
});

test('each supported runner asks for its own target, in its own tool-cache directory', async (t) => {
  const targets = { 'Linux/ARM64': 'aarch64-unknown-linux-musl', 'macOS/ARM64': 'aarch64-apple-darwin', 'macOS/X64': 'x86_64-apple-darwin' };
  const routes = {};
  let checksums = checksumLine(GOOD);
  for (const target of Object.values(targets)) {
    const asset = tarGz([{ name: 'rko', data: STANDIN }, { name: 'TARGET', data: target }]);
    routes[assetPath(VERSION, target)] = asset;
    checksums += checksumLine(asset, VERSION, target);
  }
  await withRelease(t, { routes, checksums }, async ({ server, runner, env }) => {
    for (const [key, target] of Object.entries(targets)) {
      const [os, arch] = key.split('/');
      const result = await runner.run('index.js', { ...env, RUNNER_OS: os, RUNNER_ARCH: arch });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.equal(server.requests.at(-1), assetPath(VERSION, target));
    }
    assert.deepEqual(runner.toolCacheFiles(), [`rko/${VERSION}/arm64.complete`, `rko/${VERSION}/arm64/rko`, `rko/${VERSION}/x64.complete`, `rko/${VERSION}/x64/rko`]);
  });
});

test('the release URL defaults to the action repository\'s releases on the server', async (t) => {
  const route = `/acme/rko-action/releases/download${assetPath()}`;
  await withRelease(t, { routes: { [route]: GOOD } }, async ({ server, runner }) => {
    const result = await runner.run('index.js', { GITHUB_SERVER_URL: server.base });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(server.requests, [route]);
    // A local action (`uses: ./`) has no GITHUB_ACTION_REPOSITORY: the repository itself.
    fs.rmSync(runner.toolCache, { recursive: true });
    const local = await runner.run('index.js', { GITHUB_SERVER_URL: server.base, GITHUB_ACTION_REPOSITORY: '' });
    assert.equal(local.code, 1);
    assert.equal(server.requests.at(-1), `/Acme-Corp/Hello-World/releases/download${assetPath()}`);
  });
});

test('redirects are followed, as GitHub\'s release downloads redirect', async (t) => {
  const routes = {
    [assetPath()]: (request, response) => {
      response.writeHead(302, { Location: '/objects/elsewhere?signature=abc' });
      response.end();
    },
    '/objects/elsewhere?signature=abc': GOOD,
  };
  await withRelease(t, { routes }, async ({ server, runner, env }) => {
    const result = await runner.run('index.js', env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(server.requests, [assetPath(), '/objects/elsewhere?signature=abc']);
  });
});

test('a download cut short is retried and leaves no half file', async (t) => {
  const cut = (request, response, count) => {
    response.writeHead(200, { 'Content-Length': GOOD.length });
    if (count >= 2) {
      response.end(GOOD);
    } else {
      response.write(GOOD.subarray(0, 100));
      setTimeout(() => response.socket.destroy(), 20);
    }
  };
  await withRelease(t, { routes: { [assetPath()]: cut } }, async ({ server, runner, env }) => {
    const result = await runner.run('index.js', env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /broke off after 100 bytes.*trying again \(attempt 2 of 3\)/);
    assert.equal(server.requests.length, 2);
    assert.deepEqual(runner.toolCacheFiles(), [`rko/${VERSION}/x64.complete`, `rko/${VERSION}/x64/rko`]);
  });
});

test('a download that keeps breaking off is one error line and nothing in the cache', async (t) => {
  const routes = {
    [assetPath()]: (request, response) => {
      response.writeHead(200, { 'Content-Length': GOOD.length });
      response.write(GOOD.subarray(0, 100));
      setTimeout(() => response.socket.destroy(), 20);
    },
  };
  await withRelease(t, { routes }, async ({ server, runner, env }) => {
    const line = assertOneError(await runner.run('index.js', env));
    assert.match(line, /broke off after 100 bytes.*3 times; try the job again later/);
    assert.equal(server.requests.length, 3);
    assert.deepEqual(runner.toolCacheFiles(), []);
    assert.deepEqual(runner.invocations(), []);
  });
});

test('a server error is retried; a refused connection is one error line', async (t) => {
  const flaky = (request, response, count) => {
    if (count === 1) {
      response.writeHead(503);
      response.end();
    } else {
      response.writeHead(200, { 'Content-Length': GOOD.length });
      response.end(GOOD);
    }
  };
  await withRelease(t, { routes: { [assetPath()]: flaky } }, async ({ runner, env }) => {
    const result = await runner.run('index.js', env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /answered 503.*trying again/);
    fs.rmSync(runner.toolCache, { recursive: true });
    const refused = assertOneError(await runner.run('index.js', { RKO_RELEASES_URL: 'http://user:secret@127.0.0.1:1' }));
    assert.match(refused, /GET `http:\/\/127\.0\.0\.1:1\/v9\.8\.7\/rko-9\.8\.7-x86_64-unknown-linux-musl\.tar\.gz` failed: .*ECONNREFUSED/);
    assert.doesNotMatch(refused, /secret/);
  });
});

test('the `version` input picks another release the checksums know, and names them when not', async (t) => {
  const older = tarGz([{ name: 'rko', data: STANDIN }, { name: 'README', data: 'older' }]);
  const checksums = checksumLine(GOOD) + checksumLine(older, '1.0.0');
  await withRelease(t, { routes: { [assetPath('1.0.0')]: older }, checksums }, async ({ server, runner, env }) => {
    const result = await runner.run('index.js', { ...env, INPUT_VERSION: 'v1.0.0' });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.deepEqual(server.requests, [assetPath('1.0.0')]);
    assert.ok(fs.existsSync(path.join(runner.toolCache, 'rko', '1.0.0', 'x64', 'rko')));

    const unknown = assertOneError(await runner.run('index.js', { ...env, INPUT_VERSION: '2.0.0' }));
    assert.match(unknown, /has no SHA-256 for `rko-2\.0\.0-x86_64-unknown-linux-musl\.tar\.gz`, so it cannot be verified: it knows rko 9\.8\.7, 1\.0\.0: pin one of them/);
    const bad = assertOneError(await runner.run('index.js', { ...env, INPUT_VERSION: 'latest' }));
    assert.match(bad, /the `version` input `latest` is not a release version/);
    assert.equal(server.requests.length, 1);
  });
});

test('an action copy with no released binaries says so', async (t) => {
  await withRelease(t, { checksums: '' }, async ({ server, runner, env }) => {
    const line = assertOneError(await runner.run('index.js', env));
    assert.match(line, /has no released binaries yet: use a released tag of the action/);
    assert.deepEqual(server.requests, []);
  });
});

test('asset contents: pax and `./` names are found; a tarball without rko is refused', async (t) => {
  const pax = tarGz([{ name: 'PaxHeader', type: 'x', data: paxPath('./rko') }, { name: 'placeholder-name', data: STANDIN }]);
  const dotted = tarGz([{ name: './', type: '5' }, { name: './rko', data: STANDIN }]);
  const empty = tarGz([{ name: 'bin/rko', data: STANDIN }, { name: 'rko', type: '2' }]);
  const notGzip = Buffer.from('<html>not a tarball</html>');
  // A binary larger than the unpacker's 1 MiB chunks (a comment after the script's `exit`).
  const large = tarGz([{ name: 'LICENSE', data: 'x'.repeat(1000) }, { name: 'rko', data: `${STANDIN}#${'x'.repeat(3 << 20)}\n` }]);
  const cases = { 'pax.tar.gz': pax, 'dotted.tar.gz': dotted, 'large.tar.gz': large, 'empty.tar.gz': empty, 'html.tar.gz': notGzip };
  const routes = {};
  for (const [name, bytes] of Object.entries(cases)) routes[`/${name}/v${VERSION}/rko-${VERSION}-${TARGET}.tar.gz`] = bytes;
  await withRelease(t, { routes }, async ({ server }) => {
    for (const [name, bytes] of Object.entries(cases)) {
      const runner = new Runner({ checksums: checksumLine(bytes) });
      t.after(() => runner.cleanup());
      const result = await runner.run('index.js', { RKO_RELEASES_URL: `${server.base}/${name}` });
      if (!['empty.tar.gz', 'html.tar.gz'].includes(name)) {
        assert.equal(result.code, 0, `${name}: ${result.stdout}${result.stderr}`);
        assert.equal(runner.invocations().length, 1);
      } else {
        const line = assertOneError(result);
        assert.match(line, name === 'empty.tar.gz' ? /holds no `rko` at its top level/ : /cannot unpack the verified release asset/);
        assert.deepEqual(runner.toolCacheFiles(), []);
      }
    }
  });
});

test('post.js runs `rko action --post` with the binary the main step verified', async (t) => {
  await withRelease(t, {}, async ({ server, runner, env }) => {
    assert.equal((await runner.run('index.js', env)).code, 0);
    const state = fs.readFileSync(runner.files.GITHUB_STATE, 'utf8').trim();
    const binary = state.slice('rko_binary='.length);
    const result = await runner.run('post.js', { ...env, STATE_rko_binary: binary, STANDIN_EXIT: '4' });
    assert.equal(result.code, 4);
    const invocations = runner.invocations();
    assert.deepEqual(invocations.map((invocation) => invocation.argv), ['action', 'action --post']);
    assert.equal(invocations[1].env['INPUT_GITHUB-TOKEN'], 'ghs_not-a-real-token');
    assert.equal(server.requests.length, 1, 'the post step downloads nothing');
  });
});

test('post.js does nothing when the main step installed no binary', async (t) => {
  await withRelease(t, {}, async ({ server, runner, env }) => {
    const result = await runner.run('post.js', env);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /nothing to do/);
    assert.deepEqual(runner.invocations(), []);
    assert.deepEqual(server.requests, []);
  });
});
