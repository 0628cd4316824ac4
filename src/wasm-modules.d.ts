// wrangler (and vitest-pool-workers) bundle `import x from "./y.wasm"` as a precompiled module
// (the default CompiledWasm rule): workerd cannot compile WebAssembly from bytes at run time.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
