'use strict';
// bench/io/node_echo.js - Node's peer in the io benchmark: a net echo server
// (socket.write(chunk) for every 'data' chunk, noDelay on), on 127.0.0.1 and
// a kernel-chosen port; prints "port N" and serves until killed.
const net = require('net');

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port ${server.address().port}\n`);
});
