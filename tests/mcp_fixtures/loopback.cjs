// Preloaded into Node peers (NODE_OPTIONS=--require): a server that listens on a bare port listens on
// 127.0.0.1 only, so tests never open a port on other interfaces.
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const port = args[0];
  const barePort = typeof port === "number" || (typeof port === "string" && /^\d+$/.test(port));
  if (barePort && typeof args[1] !== "string") {
    return listen.call(this, Number(port), "127.0.0.1", ...args.slice(1));
  }
  return listen.apply(this, args);
};
