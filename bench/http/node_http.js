// bench/http/node_http.js PORT - Node's http server answering "Hello, World!"
// (the peer of hl-bench-http).
const http = require('http');
const port = Number(process.argv[2] || 8080);
http.createServer((req, res) => {
  res.end('Hello, World!');
}).listen(port, '127.0.0.1', () => process.stderr.write(`listening ${port}\n`));
