// Drive Debian's firefox-esr, headless, over WebDriver BiDi (puppeteer-core), for labkit's tests.
//
// One browser per process. Commands come as JSON lines on stdin and each gets one JSON line on
// stdout: {id, result} or {id, error}. Page console errors go to stderr.
//   {"id": 1, "op": "open", "url": "http://127.0.0.1:.../?name=x"}   -> {"page": 1}
//   {"id": 2, "op": "evaluate", "page": 1, "fn": "async (arg) => ...", "arg": ...}
//   {"id": 3, "op": "close", "page": 1}
//   {"id": 4, "op": "version"}
import readline from "node:readline";
import puppeteer from "puppeteer-core";

// Fake devices, no permission prompts, and 127.0.0.1 ICE candidates. Without
// media.navigator.permission.fake, Firefox offers only its "default" addresses, never loopback.
const PREFS = {
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  "media.navigator.permission.fake": true,
  "media.peerconnection.ice.loopback": true,
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  "media.autoplay.default": 0,
  "network.proxy.type": 0,
  "app.update.enabled": false,
  "browser.safebrowsing.malware.enabled": false,
  "browser.safebrowsing.phishing.enabled": false,
  "datareporting.healthreport.uploadEnabled": false,
  "toolkit.telemetry.enabled": false,
};

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: process.env.LABKIT_FIREFOX || "/usr/bin/firefox-esr",
  headless: true,
  extraPrefsFirefox: PREFS,
});
const pages = new Map();
let next = 1;

async function run(command) {
  switch (command.op) {
    case "version":
      return await browser.version();
    case "open": {
      const page = await browser.newPage();
      page.on("console", (m) => m.type() === "error" && process.stderr.write(`[firefox console] ${m.text()}\n`));
      await page.goto(command.url);
      const id = next++;
      pages.set(id, page);
      return { page: id };
    }
    case "evaluate": {
      const page = pages.get(command.page);
      if (!page) throw new Error(`no page ${command.page}`);
      return await page.evaluate(`(${command.fn})(${JSON.stringify(command.arg ?? null)})`);
    }
    case "close": {
      const page = pages.get(command.page);
      pages.delete(command.page);
      if (page) await page.close();
      return null;
    }
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

const lines = readline.createInterface({ input: process.stdin });
process.stdout.write(JSON.stringify({ ready: true, version: await browser.version() }) + "\n");
for await (const line of lines) {
  if (!line.trim()) continue;
  const command = JSON.parse(line);
  if (command.op === "quit") break;
  try {
    const result = await run(command);
    process.stdout.write(JSON.stringify({ id: command.id, result: result ?? null }) + "\n");
  } catch (error) {
    process.stdout.write(JSON.stringify({ id: command.id, error: String(error && error.message || error) }) + "\n");
  }
}
await browser.close();
