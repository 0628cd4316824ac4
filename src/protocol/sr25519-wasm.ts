// sr25519 signing in WebAssembly: the schnorrkel crate (0.11, "substrate" context) as built by
// @polkadot-labs/schnorrkel-wasm (see scripts/build-wasm.ts and docs/signing.md), driven through
// its wasm-bindgen ABI by this small glue instead of the package's own, which reads the module
// from disk (Node) or compiles it from bytes (workerd refuses both). The caller passes a compiled
// WebAssembly.Module: in the Worker the one wrangler bundles from the `.wasm` import, in Node
// one compiled from the same committed file.
//
// The ABI (wasm-bindgen 0.2, as the package's generated glue uses it):
//   - byte arguments: `__wbindgen_malloc(len, 1)` -> ptr, bytes copied into linear memory; the
//     Rust side owns `&[u8]` arguments from then on and frees them when the call returns;
//   - `sr25519_sign(retptr, pub, pubLen, secret, secretLen, msg, msgLen)` writes the result
//     Vec's (ptr, len) as two i32 at `retptr`, a 16-byte slot taken from the shadow stack with
//     `__wbindgen_add_to_stack_pointer`; the caller copies it out and frees it with
//     `__wbindgen_free(ptr, len, 1)`;
//   - the secret is schnorrkel's 64-byte "ed25519 format" key (scalar·8 ‖ nonce), exactly the
//     @scure/sr25519 secret keys.ts derives;
//   - imports: wasm-bindgen's table of JS objects (indices 128..131 are undefined, null, true,
//     false) and the calls that getrandom (seeding schnorrkel's signing RNG) and the panic hook
//     make. The module sees a global object of its own holding only `crypto.getRandomValues`,
//     so it takes getrandom's Web Crypto path in Node and workerd alike;
//   - a Rust panic (bad key) traps: the allocator's state is then unknown, so the instance is
//     dropped and a fresh one made on the next call.
//
// Runtime-neutral: WebAssembly.Instance (synchronous; allowed for precompiled modules in
// workerd) and crypto.getRandomValues only.
import type { Sr25519Keypair } from "./keys";

/** The exports this glue uses. */
interface SchnorrkelExports {
  memory: WebAssembly.Memory;
  __wbindgen_start(): void;
  __wbindgen_malloc(size: number, align: number): number;
  __wbindgen_realloc(ptr: number, oldSize: number, newSize: number, align: number): number;
  __wbindgen_free(ptr: number, size: number, align: number): void;
  __wbindgen_add_to_stack_pointer(delta: number): number;
  __wbindgen_exn_store(idx: number): void;
  sr25519_sign(retptr: number, pubPtr: number, pubLen: number, secretPtr: number, secretLen: number, msgPtr: number, msgLen: number): void;
}

const FUNCTIONS = [
  "__wbindgen_start",
  "__wbindgen_malloc",
  "__wbindgen_realloc",
  "__wbindgen_free",
  "__wbindgen_add_to_stack_pointer",
  "__wbindgen_exn_store",
  "sr25519_sign",
] as const;

function isSchnorrkelExports(exports: WebAssembly.Exports): exports is WebAssembly.Exports & SchnorrkelExports {
  return exports.memory instanceof WebAssembly.Memory && FUNCTIONS.every((name) => typeof exports[name] === "function");
}

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** wasm-bindgen's JS object table: 128 free slots, then the four constants it hard-codes. */
class ObjectTable {
  private static readonly RESERVED = 132;
  private readonly slots: unknown[] = [...Array.from({ length: 128 }, () => undefined), undefined, null, true, false];
  private readonly free: number[] = [];

  get(idx: number): unknown {
    return this.slots[idx];
  }

  add(value: unknown): number {
    const idx = this.free.pop() ?? this.slots.length;
    this.slots[idx] = value;
    return idx;
  }

  drop(idx: number): void {
    if (idx < ObjectTable.RESERVED) return;
    this.slots[idx] = undefined;
    this.free.push(idx);
  }

  take(idx: number): unknown {
    const value = this.get(idx);
    this.drop(idx);
    return value;
  }
}

/** Property `name` of the object at `idx`, when it is an object (wasm-bindgen getters). */
function prop(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? Reflect.get(value, name) : undefined;
}

function imports(table: ObjectTable, wasm: () => SchnorrkelExports): WebAssembly.ModuleImports {
  const bytes = (): Uint8Array => new Uint8Array(wasm().memory.buffer);
  const readString = (ptr: number, len: number): string => utf8Decoder.decode(bytes().subarray(ptr >>> 0, (ptr >>> 0) + len));
  /** wasm-bindgen's `catch` imports: a JS exception is handed to Rust as a Result::Err. */
  const catching =
    <A extends unknown[]>(run: (...args: A) => number | void) =>
    (...args: A): number | void => {
      try {
        return run(...args);
      } catch (err) {
        wasm().__wbindgen_exn_store(table.add(err));
      }
    };
  // What the module may reach: randomness, nothing else (no process, require or Function).
  const cryptoObject = { getRandomValues: (buf: Uint8Array) => crypto.getRandomValues(buf) };
  const globalObject = { crypto: cryptoObject };
  const refuse = (what: string) => () => {
    throw new Error(`schnorrkel wasm: ${what} is not available here`);
  };

  return {
    // console_error_panic_hook (only on a panic)
    __wbg_new_abda76e883ba8a5f: () => table.add(new Error()),
    __wbg_stack_658279fe44541cf6: (retptr: number, idx: number) => {
      const stack = utf8Encoder.encode(String(prop(table.get(idx), "stack") ?? ""));
      const w = wasm();
      const ptr = w.__wbindgen_malloc(stack.length, 1);
      bytes().set(stack, ptr);
      const slot = new Int32Array(w.memory.buffer, retptr, 2);
      slot[0] = ptr;
      slot[1] = stack.length;
    },
    __wbg_error_f851667af71bcfc6: (ptr: number, len: number) => {
      try {
        console.error(`schnorrkel wasm panicked: ${readString(ptr, len)}`);
      } finally {
        wasm().__wbindgen_free(ptr, len, 1);
      }
    },
    // object table
    __wbindgen_object_drop_ref: (idx: number) => table.drop(idx),
    __wbindgen_object_clone_ref: (idx: number) => table.add(table.get(idx)),
    __wbindgen_is_undefined: (idx: number) => table.get(idx) === undefined,
    __wbindgen_is_object: (idx: number) => {
      const v = table.get(idx);
      return typeof v === "object" && v !== null;
    },
    __wbindgen_is_string: (idx: number) => typeof table.get(idx) === "string",
    __wbindgen_is_function: (idx: number) => typeof table.get(idx) === "function",
    __wbindgen_string_new: (ptr: number, len: number) => table.add(readString(ptr, len)),
    __wbindgen_memory: () => table.add(wasm().memory),
    __wbindgen_throw: (ptr: number, len: number) => {
      throw new Error(readString(ptr, len));
    },
    // js_sys::global(): every candidate is the module's own global object
    __wbg_self_f0e34d89f33b99fd: catching(() => table.add(globalObject)),
    __wbg_window_d3b084224f4774d7: catching(() => table.add(globalObject)),
    __wbg_globalThis_9caa27ff917c6860: catching(() => table.add(globalObject)),
    __wbg_global_35dfdd59a4da3e74: catching(() => table.add(globalObject)),
    __wbg_newnoargs_c62ea9419c21fbac: refuse("new Function"),
    __wbg_call_90c26b09837aba1c: catching((fn: number, self: number) => {
      const f = table.get(fn);
      if (typeof f !== "function") throw new TypeError("not a function");
      return table.add(Reflect.apply(f, table.get(self), []));
    }),
    __wbg_call_5da1969d7cd31ccd: catching((fn: number, self: number, arg: number) => {
      const f = table.get(fn);
      if (typeof f !== "function") throw new TypeError("not a function");
      return table.add(Reflect.apply(f, table.get(self), [table.get(arg)]));
    }),
    // getrandom's environment probe and its Web Crypto path
    __wbg_crypto_58f13aa23ffcb166: (idx: number) => table.add(prop(table.get(idx), "crypto")),
    __wbg_msCrypto_abcb1295e768d1f2: (idx: number) => table.add(prop(table.get(idx), "msCrypto")),
    __wbg_process_5b786e71d465a513: (idx: number) => table.add(prop(table.get(idx), "process")),
    __wbg_versions_c2ab80650590b6a2: (idx: number) => table.add(prop(table.get(idx), "versions")),
    __wbg_node_523d7bd03ef69fba: (idx: number) => table.add(prop(table.get(idx), "node")),
    __wbg_require_2784e593a4674877: catching(refuse("require")),
    __wbg_randomFillSync_a0d98aa11c81fe89: catching(refuse("randomFillSync")),
    __wbg_getRandomValues_504510b5564925af: catching((cryptoIdx: number, bufIdx: number) => {
      const buf = table.get(bufIdx);
      if (table.get(cryptoIdx) !== cryptoObject || !(buf instanceof Uint8Array)) throw new TypeError("getRandomValues: unexpected arguments");
      cryptoObject.getRandomValues(buf);
    }),
    // the Uint8Array calls getrandom copies random bytes into linear memory with
    __wbg_buffer_a448f833075b71ba: (idx: number) => table.add(prop(table.get(idx), "buffer")),
    __wbg_newwithbyteoffsetandlength_d0482f893617af71: (buffer: number, offset: number, length: number) => {
      const b = table.get(buffer);
      if (!(b instanceof ArrayBuffer)) throw new TypeError("not an ArrayBuffer");
      return table.add(new Uint8Array(b, offset >>> 0, length >>> 0));
    },
    __wbg_new_8f67e318f15d7254: (buffer: number) => {
      const b = table.get(buffer);
      if (!(b instanceof ArrayBuffer)) throw new TypeError("not an ArrayBuffer");
      return table.add(new Uint8Array(b));
    },
    __wbg_newwithlength_6c2df9e2f3028c43: (length: number) => table.add(new Uint8Array(length >>> 0)),
    __wbg_set_2357bf09366ee480: (target: number, source: number, offset: number) => {
      const t = table.get(target);
      const s = table.get(source);
      if (!(t instanceof Uint8Array) || !(s instanceof Uint8Array)) throw new TypeError("not a Uint8Array");
      t.set(s, offset >>> 0);
    },
    __wbg_subarray_2e940e41c0f5a1d9: (idx: number, start: number, end: number) => {
      const a = table.get(idx);
      if (!(a instanceof Uint8Array)) throw new TypeError("not a Uint8Array");
      return table.add(a.subarray(start >>> 0, end >>> 0));
    },
  };
}

function instantiate(module: WebAssembly.Module): SchnorrkelExports {
  let exports: SchnorrkelExports | null = null;
  const current = (): SchnorrkelExports => {
    if (!exports) throw new Error("schnorrkel wasm: called back before instantiation finished");
    return exports;
  };
  const instance = new WebAssembly.Instance(module, { __wbindgen_placeholder__: imports(new ObjectTable(), current) });
  if (!isSchnorrkelExports(instance.exports)) throw new Error("schnorrkel wasm: module lacks the @polkadot-labs/schnorrkel-wasm exports");
  exports = instance.exports;
  exports.__wbindgen_start();
  return exports;
}

export interface WasmSr25519 {
  /** 64-byte sr25519 signature ("substrate" context) over `message`, freshly randomised. */
  sign(publicKey: Uint8Array, secretKey: Uint8Array, message: Uint8Array): Uint8Array;
}

/** Instantiates on the first call (not at import: workerd forbids randomness at start-up), and again after a trap. */
export function wasmSr25519(module: WebAssembly.Module): WasmSr25519 {
  let wasm: SchnorrkelExports | null = null;

  function put(w: SchnorrkelExports, data: Uint8Array): number {
    const ptr = w.__wbindgen_malloc(data.length, 1);
    new Uint8Array(w.memory.buffer, ptr, data.length).set(data);
    return ptr;
  }

  function guarded<T>(run: (w: SchnorrkelExports) => T): T {
    wasm ??= instantiate(module);
    try {
      return run(wasm);
    } catch (err) {
      wasm = null;
      throw err;
    }
  }

  return {
    sign(publicKey, secretKey, message) {
      if (publicKey.length !== 32) throw new RangeError("sr25519 public key must be 32 bytes");
      if (secretKey.length !== 64) throw new RangeError("sr25519 secret key must be 64 bytes");
      return guarded((w) => {
        const retptr = w.__wbindgen_add_to_stack_pointer(-16);
        try {
          w.sr25519_sign(retptr, put(w, publicKey), 32, put(w, secretKey), 64, put(w, message), message.length);
          const [ptr, len] = new Int32Array(w.memory.buffer, retptr, 2);
          if (ptr === undefined || len !== 64) throw new Error(`schnorrkel wasm: unexpected signature length ${len}`);
          const signature = new Uint8Array(w.memory.buffer, ptr, 64).slice();
          w.__wbindgen_free(ptr, 64, 1);
          return signature;
        } finally {
          w.__wbindgen_add_to_stack_pointer(16);
        }
      });
    },
  };
}

/** The keypair with its `sign` bound to the WebAssembly signer (see keys.ts Sr25519Keypair.sign). */
export function withWasmSigning(keypair: Sr25519Keypair, wasm: WasmSr25519): Sr25519Keypair {
  const { publicKey, secretKey, ss58 } = keypair;
  return { publicKey, secretKey, ss58, sign: (message) => wasm.sign(publicKey, secretKey, message) };
}
