// Module types the Worker imports: workerd's config.capnp and wrangler.toml's rules give these kinds.
declare module '*.wasm' { const m: WebAssembly.Module; export default m; }
declare module '*.safetensors' { const bytes: ArrayBuffer; export default bytes; }
declare module '*.json' { const text: string; export default text; }
