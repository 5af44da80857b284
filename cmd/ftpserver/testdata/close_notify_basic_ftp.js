// Uploads one file over FTPS with basic-ftp, the Node.js FTP client, as a user of it would.
//
// Usage: node close_notify_basic_ftp.js HOST PORT FILE
//
// Logs in as test/test after AUTH TLS (basic-ftp then protects data connections, PROT P) and
// stores FILE as /probe.bin. Prints "ok" and the final reply's code, or "reply: " and the
// error, and exits 2. basic-ftp is looked up in testdata/node, where CI installs it.
"use strict";

const path = require("path");
const ftp = require(path.join(__dirname, "node", "node_modules", "basic-ftp"));

async function main() {
  const [host, port, file] = process.argv.slice(2);
  const client = new ftp.Client(20000);
  try {
    await client.access({
      host,
      port: Number(port),
      user: "test",
      password: "test",
      secure: true,
      secureOptions: { rejectUnauthorized: false }, // a throw-away certificate
    });
    const response = await client.uploadFrom(file, "/probe.bin");
    console.log("ok " + response.code);
  } catch (err) {
    console.log("reply: " + err.message);
    process.exitCode = 2;
  } finally {
    client.close();
  }
}

main();
