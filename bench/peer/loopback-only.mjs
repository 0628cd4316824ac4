// Preloaded into Portkey's gateway (`node --import`): its start script listens on every
// interface; the benchmark keeps everything on loopback, so every listen() binds 127.0.0.1.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (typeof first === "object" && first !== null && !Array.isArray(first)) {
    return listen.call(this, { ...first, host: "127.0.0.1" }, ...args.slice(1));
  }
  if (typeof first === "number" || typeof first === "string") {
    const rest = args.slice(1);
    if (typeof rest[0] === "string") rest.shift(); // an explicit host: replaced
    return listen.call(this, first, "127.0.0.1", ...rest);
  }
  return listen.apply(this, args);
};

// Portkey 1.15.2 on Node 20 fails every streamed chat with "TypeError: immutable": it appends
// x-portkey-* headers to a Response built on the upstream fetch's immutable Headers (upstream
// issues Portkey-AI/gateway#1389 and #1550). The shim gives streamed upstream responses mutable
// headers; JSON responses are returned untouched, so the non-streamed path is Portkey's own.
const upstreamFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
  const res = await upstreamFetch(...args);
  if (!(res.headers.get("content-type") ?? "").includes("text/event-stream")) return res;
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: new Headers(res.headers) });
};
