// Drive headless Chromium (Debian's, through playwright-core) to a player
// page and wait until the video ended or failed. Prints one JSON object:
// {ok, why, currentTime, duration, log, requests: [{url, status}], console}.
//   node play.js NPM_DIR CHROMIUM PAGE_URL SPKI_LIST TIMEOUT_MS
// SPKI_LIST: base64 SHA-256 of the servers' public keys, the only
// certificates accepted besides the system's (--ignore-certificate-errors-spki-list).
// Names under .test resolve to 127.0.0.1 (--host-resolver-rules).
'use strict';
const [npm, chromium, url, spki, timeout] = process.argv.slice(2);
const { chromium: browserType } = require(npm + '/node_modules/playwright-core');

async function main() {
	const browser = await browserType.launch({
		executablePath: chromium,
		args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
		       '--disable-component-update', '--no-first-run', '--disable-sync',
		       '--autoplay-policy=no-user-gesture-required',
		       '--host-resolver-rules=MAP *.test 127.0.0.1',
		       '--ignore-certificate-errors-spki-list=' + spki],
	});
	const out = { ok: false, why: 'timed out', requests: [], console: [] };
	try {
		const page = await browser.newPage();
		page.on('console', m => out.console.push(m.type() + ': ' + m.text()));
		page.on('pageerror', e => out.console.push('pageerror: ' + e.message));
		page.on('response', r => out.requests.push({ url: r.url(), status: r.status() }));
		page.on('requestfailed', r => out.requests.push({ url: r.url(), status: 0,
								   failure: (r.failure() || {}).errorText }));
		await page.goto(url, { timeout: Number(timeout) });
		try {
			await page.waitForFunction(() => window.__done, null, { timeout: Number(timeout) });
		} catch (e) { /* reported below as timed out */ }
		Object.assign(out, await page.evaluate(() => Object.assign({ log: window.__log },
									 window.__done || {})));
	} finally {
		await browser.close(); // Chromium never exits by itself
	}
	process.stdout.write(JSON.stringify(out) + '\n');
	return out.ok ? 0 : 1;
}

main().then(code => process.exit(code), e => {
	process.stdout.write(JSON.stringify({ ok: false, why: 'driver: ' + e.message }) + '\n');
	process.exit(2);
});
