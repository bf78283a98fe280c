# workerd config for the Tide Worker: `node build.mjs && npx workerd serve config.capnp`
# (the test overrides the address with --socket-addr http=127.0.0.1:PORT).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .tideWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:18610", http = (), service = "main") ],
);

const tideWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "dist/worker.js"),
    (name = "kernels-simd128.wasm", wasm = embed "dist/kernels-simd128.wasm"),
    (name = "model.safetensors", data = embed "dist/model.safetensors"),
    (name = "config.json", text = embed "dist/config.json"),
    (name = "generation_config.json", text = embed "dist/generation_config.json"),
    (name = "tokenizer.json", text = embed "dist/tokenizer.json"),
    (name = "tokenizer_config.json", text = embed "dist/tokenizer_config.json"),
  ],
  compatibilityDate = "2025-06-01",
);
