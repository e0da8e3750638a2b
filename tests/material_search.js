// Material for MkDocs' own search worker, run in node on a built site's index (tests/test_i18n.py): the
// worker is loaded as the browser loads it (importScripts of its lunr languages), set up with the
// index, and asked each query; prints {query: [locations of the best match of each result group]}.
const fs = require("fs"), path = require("path"), vm = require("vm");
const site = process.argv[2], queries = JSON.parse(process.argv[3]);
const workers = path.join(site, "assets/javascripts/workers");
const worker = fs.readdirSync(workers).find(f => /^search\..*\.min\.js$/.test(f));
let handler = null; const out = [];
const ctx = {console, setTimeout, clearTimeout, Promise, Intl, TextEncoder, TextDecoder};
ctx.self = ctx; ctx.globalThis = ctx;
ctx.addEventListener = (type, fn) => { if (type === "message") handler = fn; };
ctx.postMessage = (m) => out.push(m);
ctx.importScripts = (...urls) => { for (const u of urls) vm.runInContext(fs.readFileSync(path.resolve(workers, u), "utf8"), ctx); };
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(path.join(workers, worker), "utf8"), ctx);
const index = JSON.parse(fs.readFileSync(path.join(site, "search/search_index.json"), "utf8"));
(async () => {
  await handler({data: {type: 0, data: Object.assign({options: {suggest: false}}, index)}});
  await new Promise(r => setTimeout(r, 50));
  const results = {};
  for (const q of queries) {
    out.length = 0;
    await handler({data: {type: 2, data: q}});
    await new Promise(r => setTimeout(r, 10));
    const res = out.find(m => m.type === 3);
    results[q] = res ? res.data.items.map(group => group[0] ? group[0].location : null) : null;
  }
  process.stdout.write(JSON.stringify(results));
})().catch(e => { console.error(e); process.exit(1); });
